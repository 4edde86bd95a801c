"""Where the URL and the token come from: arguments, then ``DSW_URL``/``DSW_TOKEN``, then the file
``dsw login`` writes (``$DSW_CONFIG``, else ``$XDG_CONFIG_HOME/dsw/config.json``, else
``~/.config/dsw/config.json``), private to its owner (0600 in a 0700 folder)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dsw_client.models import _when


def config_path() -> Path:
    if os.environ.get("DSW_CONFIG"):
        return Path(os.environ["DSW_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "dsw" / "config.json"


def normal_url(url: str) -> str:
    """The form URLs are compared in: no trailing slash."""
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class SavedLogin:
    """What ``dsw login`` keeps: the token for one platform, and what is known about it."""

    url: str
    username: str
    token: str
    token_id: int | None = None
    token_name: str = ""
    expires: datetime | None = None

    def __repr__(self):  # never the secret
        return f"SavedLogin(url={self.url!r}, username={self.username!r}, token_id={self.token_id!r})"


def login_load(path: Path | None = None) -> SavedLogin | None:
    """The saved login, or None when there is none (a file that cannot be read as one counts as none)."""
    path = path or config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SavedLogin(url=normal_url(data["url"]), username=data.get("username", ""), token=data["token"],
                          token_id=data.get("token_id"), token_name=data.get("token_name", ""),
                          expires=_when(data.get("expires")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def login_save(login: SavedLogin, path: Path | None = None) -> Path:
    """Write the login, readable by its owner only. The file is replaced whole (never half-written),
    and created with mode 0600 from the start, so the token is never readable by others, not even briefly."""
    path = path or config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = {"url": login.url, "username": login.username, "token": login.token, "token_id": login.token_id,
            "token_name": login.token_name, "expires": login.expires.isoformat() if login.expires else None}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def login_forget(path: Path | None = None) -> bool:
    """Remove the saved login; True if there was one. Idempotent."""
    try:
        (path or config_path()).unlink()
        return True
    except FileNotFoundError:
        return False


@dataclass(frozen=True)
class Credentials:
    url: str | None
    token: str | None
    expires: datetime | None = None  # known only for the saved login's token
    source: str = ""  # where the token came from, for messages

    def __repr__(self):
        return f"Credentials(url={self.url!r}, source={self.source!r})"


def credentials_resolve(url: str | None = None, token: str | None = None) -> Credentials:
    """The URL and token to use. The saved token is only sent to the URL it was made for: a ``DSW_URL``
    or ``--url`` pointing elsewhere never receives it."""
    url = url or os.environ.get("DSW_URL") or None
    if token:
        return Credentials(url=url and normal_url(url), token=token, source="the token given")
    if os.environ.get("DSW_TOKEN"):
        return Credentials(url=url and normal_url(url), token=os.environ["DSW_TOKEN"], source="DSW_TOKEN")
    saved = login_load()
    if saved is not None and (url is None or normal_url(url) == saved.url):
        return Credentials(url=saved.url, token=saved.token, expires=saved.expires, source=str(config_path()))
    return Credentials(url=url and normal_url(url), token=None)
