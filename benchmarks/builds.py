"""A custom image build through the platform's builder, against `buildah bud` of the same Containerfile run
directly, in one run.

    .venv/bin/python benchmarks/builds.py [--rounds 3] [--package tabulate==0.9.0] [--base oci:/path/to/layout:tag]

The base is an image to build on (default: this host's Jupyter image with pip, as the tests make it: no network
needed for the base). The recipe is a requirements.txt with one small package. Each round, on a fresh image store
(so the base is pulled and the layer cache is cold in both):

* baseline: `buildah bud` of the Containerfile the platform generates, as a person would run it by hand
  (buildah's defaults: no user namespace, so the build's root is the host's root; no layer cache), to a local tag,
  with the same storage driver (`--driver`: vfs by default, as the platform);
* platform: the commands `builds.services.build_run` issues, in order: the build in a user namespace of its own
  (`--isolation oci`, uid-mapped), the export to an OCI layout, the SBOM (syft) and the push (skopeo, to a plain
  docker-registry on loopback). The catalog sync and the database rows around them take milliseconds and are
  left out, as is Celery's queueing;
* warm rebuild: the platform's path again for the same recipe, the base already in the store.

Prints the medians and the ratios (goal: platform ≤ 1.2× baseline).
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def plain_registry(folder):
    """A docker-registry without auth on a free loopback port (the benchmark's push target)."""
    from tests.ports import free_ports

    [port] = free_ports(1)
    config = folder / "registry.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {folder / 'storage'}\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")
    process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import requests

    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1)
            return process, f"127.0.0.1:{port}"
        except requests.ConnectionError:
            time.sleep(0.05)
    raise SystemExit("the registry did not start")


def timed(command):
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{command[:4]} failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--package", default="tabulate==0.9.0")
    parser.add_argument("--base", default="")
    parser.add_argument("--driver", default="vfs", choices=["vfs", "overlay", "auto"],
                        help="the storage driver of both sides (the platform's default: vfs)")
    args = parser.parse_args()

    from builds import recipes
    from builds.builder import Builder, storage_driver_for

    work = Path(tempfile.mkdtemp(prefix="dsw-bench-builds-"))
    base = args.base
    if not base:
        from tests.images.jupyter_image import build_jupyter_layout

        build_jupyter_layout(work / "base", tag="base", with_pip=True)
        base = f"oci:{work / 'base'}:base"
    registry, host = plain_registry(work)
    driver = storage_driver_for(work / "probe") if args.driver == "auto" else args.driver  # the same for both sides
    bundle = next((path for path in ("/etc/ssl/certs/ca-certificates.crt",) if Path(path).is_file()), "")
    context = work / "context"
    (context / "recipe").mkdir(parents=True)
    (context / "recipe" / "requirements.txt").write_text(args.package + "\n")
    containerfile = work / "Containerfile"
    containerfile.write_text(recipes.custom_containerfile(base_reference=base, files={"requirements.txt": ""},
                                                          build_args=["PIP_CERT"] if bundle else []))
    baseline, platform, warm, steps = [], [], [], {}
    try:
        for round_number in range(args.rounds):
            # Baseline: buildah bud by hand, its own fresh store.
            store = work / f"plain-{round_number}"
            trust = ["--volume", f"{bundle}:/etc/ssl/build-ca.crt:ro", "--build-arg", "PIP_CERT=/etc/ssl/build-ca.crt"] if bundle else []
            baseline.append(timed(["buildah", "--storage-driver", driver, "--root", str(store / "root"), "--runroot",
                                   str(store / "run"), "bud", *trust, "-f", str(containerfile), "-t",
                                   "localhost/plain:latest", str(context)]))
            subprocess.run(["buildah", "--storage-driver", driver, "--root", str(store / "root"), "--runroot",
                            str(store / "run"), "rmi", "--all", "--force"], capture_output=True)
            shutil.rmtree(store, ignore_errors=True)

            storage = work / f"platform-{round_number}"
            builder = Builder(storage_root=storage, ca_bundle=bundle, driver=driver,
                              syft=shutil.which("syft") or str(Path(sys.executable).parent / "syft"))

            def platform_path(tag):
                layout = work / f"layout-{round_number}-{tag}"
                started = time.perf_counter()
                for name, command in (("build", builder.build_command(context=context, containerfile=containerfile,
                                                                      local_name="localhost/dsw-build:latest", base=base,
                                                                      creds="x:y")),
                                      ("export", builder.export_command("localhost/dsw-build:latest", layout)),
                                      ("sbom", builder.sbom_command(layout, work / "sbom.json")),
                                      ("push", builder.push_command(layout, f"{host}/users/bench/env:{tag}", "x:y"))):
                    step_started = time.perf_counter()
                    builder.run(command, log=lambda line: None, timeout=1800)
                    steps.setdefault(name, []).append(time.perf_counter() - step_started)
                shutil.rmtree(layout, ignore_errors=True)
                return time.perf_counter() - started

            platform.append(platform_path(f"r{round_number}"))
            warm.append(platform_path(f"r{round_number}-warm"))
            subprocess.run(builder.remove_command("localhost/dsw-build:latest"), capture_output=True)
            subprocess.run(["buildah", *builder._storage(), "rmi", "--all", "--force"], capture_output=True)
            shutil.rmtree(builder.storage_root, ignore_errors=True)
            print(f"round {round_number + 1}: baseline {baseline[-1]:.1f} s, platform {platform[-1]:.1f} s, "
                  f"warm rebuild {warm[-1]:.1f} s", flush=True)
    finally:
        registry.terminate()
        registry.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    b, p, w = (statistics.median(values) for values in (baseline, platform, warm))
    print(json.dumps({"baseline_s": round(b, 2), "platform_s": round(p, 2), "warm_rebuild_s": round(w, 2),
                      "steps_s": {name: [round(value, 1) for value in values] for name, values in steps.items()}}))
    print(f"\n| | median | ratio to `buildah bud` |\n|---|---|---|\n| `buildah bud` by hand (baseline) | {b:.1f} s | 1.00 |\n"
          f"| platform: build, export, SBOM, push | {p:.1f} s | {p / b:.2f} |\n"
          f"| platform again, the base in the store | {w:.1f} s | {w / b:.2f} |")


if __name__ == "__main__":
    main()
