"""What a build runs: the Containerfile of a custom build (made from the recipe files a person keeps in a
workspace folder, as Binder reads them) and the curated definitions in images/definitions/. Pure: no Django."""

import hashlib
import json
import re
from pathlib import Path

DEFINITIONS_DIR = Path(__file__).resolve().parents[1] / "images" / "definitions"
# Each curated image builds FROM the one named here ("base": the hardened base, docker/singleuser.Dockerfile).
CURATED_PARENTS = {"minimal": "base", "scipy": "minimal", "pytorch": "scipy", "pytorch-cuda": "scipy"}
# Built by `make images` unless IMAGES names others (pytorch-cuda is large: asked for by name).
CURATED_DEFAULT = ("minimal", "scipy", "pytorch")

RECIPE_FILES = ("requirements.txt", "environment.yml", "postBuild")
RECIPE_MAX_BYTES = 256 * 1024
IMAGE_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
INSIDE = "/tmp/dsw-build"

# The instruction each recipe file becomes, in order; the step a person reads when it fails.
_STEPS = {
    "requirements.txt": ("pip install -r requirements.txt",
                         ["python3", "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check",
                          "--no-input", "--root-user-action=ignore", "-r", f"{INSIDE}/requirements.txt"]),
    "environment.yml": ("conda env update -f environment.yml",
                        ["conda", "env", "update", "--name", "base", "--file", f"{INSIDE}/environment.yml"]),
    "postBuild": ("postBuild", ["/bin/sh", "-e", f"{INSIDE}/postBuild"]),
}


def recipe_problems(files):
    """What is wrong with the recipe files read from a folder ({name: text}); [] when it can be built."""
    problems = []
    if not any(name in files for name in ("requirements.txt", "environment.yml")):
        problems.append("The folder needs a requirements.txt or an environment.yml.")
    for name, text in files.items():
        if len(text.encode()) > RECIPE_MAX_BYTES:
            problems.append(f"{name} is larger than {RECIPE_MAX_BYTES // 1024} KiB.")
        if "\x00" in text:
            problems.append(f"{name} is not a text file.")
    return problems


def custom_containerfile(*, base_reference, files, build_args=(), labels=None):
    """The Containerfile of a custom build: the base (pinned by digest), the recipe files copied in, one RUN per
    file (exec form: needs no shell in the base), and back to the notebook user (uid 1000, gid 100)."""
    lines = [f"FROM {base_reference}", *(f"ARG {name}" for name in build_args), "USER root",
             f"COPY recipe/ {INSIDE}/"]
    for name in RECIPE_FILES:
        if name in files:
            lines.append(f"RUN {json.dumps(_STEPS[name][1])}")
    lines.append("USER 1000:100")
    for key, value in sorted((labels or {}).items()):
        lines.append(f"LABEL {json.dumps(key)}={json.dumps(value)}")
    return "\n".join(lines) + "\n"


def failed_step(log_lines):
    """A person's name for the Containerfile step a failed build stopped in, from buildah's 'STEP n/m: …' lines."""
    for line in reversed(log_lines):
        match = re.match(r"STEP \d+/\d+: (.*)", line)
        if match:
            instruction = match.group(1)
            for name, (title, _) in _STEPS.items():
                if name in instruction:
                    return title
            return instruction[:120]
    return ""


def recipe_digest(files, base_reference):
    """Names the recipe: the same files on the same base give the same digest (the tag's suffix)."""
    payload = json.dumps({"base": base_reference, "files": files}, sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()


def curated_names():
    return sorted(path.name for path in DEFINITIONS_DIR.iterdir() if (path / "Containerfile").is_file())


def curated_order(names):
    """``names`` with every parent they need built first (parents before children), "base" left out."""
    ordered = []

    def add(name):
        if name == "base" or name in ordered:
            return
        if name not in CURATED_PARENTS:
            raise ValueError(f"unknown image definition {name!r}; known: {', '.join(curated_names())}")
        add(CURATED_PARENTS[name])
        ordered.append(name)

    for name in names:
        add(name)
    return ordered


def curated_digest(name):
    """The definition's own digest: its Containerfile's bytes (with its parents', so a change reaches children)."""
    digest = hashlib.sha256()
    while name != "base":
        digest.update((DEFINITIONS_DIR / name / "Containerfile").read_bytes())
        name = CURATED_PARENTS[name]
    return digest.hexdigest()
