"""Where shared notebooks' bytes live: content-addressed (the key is the SHA-256 of the bytes), written once,
never changed. In the platform's object store when one is configured (the buckets app's storage adapter), else
as files under PLATFORM_DATA_DIR/sharing. Writing a key that exists is a success (same name, same bytes)."""

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings

from buckets.storage import storage


def digest(data):
    return hashlib.sha256(data).hexdigest()


def _file(key):
    return Path(settings.PLATFORM_DATA_DIR) / "sharing" / key


def blob_put(key, data):
    store = storage()
    if store is not None:
        store.bucket_ensure(settings.PLATFORM_SHARING_BUCKET)
        store.object_put(settings.PLATFORM_SHARING_BUCKET, key, data)
        return
    _write(_file(key), data)


def blob_local_path(key):
    """A local file holding the bytes under ``key`` (None: no such blob): the file itself without an object store,
    else a copy kept under PLATFORM_DATA_DIR/sharing on first use, which is never stale (the key names the bytes).
    Rendered pages are served from it, with no round trip to the store."""
    path = _file(key)
    if path.exists():
        return path
    store = storage()
    data = store.object_get(settings.PLATFORM_SHARING_BUCKET, key) if store is not None else None
    if data is None:
        return None
    _write(path, data)
    return path


def _write(path, data):
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written aside and renamed: a reader never sees half a file, and a crash leaves none under the key.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def blob_get(key):
    """The bytes under ``key``, or None."""
    store = storage()
    if store is not None:
        return store.object_get(settings.PLATFORM_SHARING_BUCKET, key)
    try:
        return _file(key).read_bytes()
    except FileNotFoundError:
        return None


def notebook_key(sha256):
    return f"notebooks/{sha256[:2]}/{sha256}.ipynb"


def html_key(sha256):
    return f"html/{sha256[:2]}/{sha256}.html"


def file_key(sha256):
    return f"files/{sha256[:2]}/{sha256}"
