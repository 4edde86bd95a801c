"""The portal image holds every package the platform installs: `pip install .` in the image finds only
what was copied in, so a forgotten COPY ships an image whose portal cannot even start (it did once:
costs/, buckets/ and observability/ were missing while the chart's tests stayed green)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_portal_image_copies_every_package_of_the_platform():
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = {pattern.rstrip("*") for pattern in find["include"]}
    copied = set(re.findall(r"^COPY (\S+) \1$", (ROOT / "docker" / "portal.Dockerfile").read_text(), re.M))
    # portal lives in platform/ (a plain folder, see the README), copied whole
    missing = {name for name in packages if name not in copied and not (name == "portal" and "platform" in copied)}
    assert not missing, f"docker/portal.Dockerfile does not COPY {sorted(missing)}"
