"""Secrets of people's S3 keys, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

PLATFORM_BUCKETS_ENCRYPTION_KEYS holds one or more keys; each is any string of 32+ characters,
stretched to a Fernet key with SHA-256. The first encrypts; every one decrypts, so rotation is: put
a new key first, run `manage.py buckets_reencrypt`, then drop the old one.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret that none of the configured keys decrypts (a key was dropped too early)."""


def _fernet():
    keys = [Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))
            for key in settings.PLATFORM_BUCKETS_ENCRYPTION_KEYS]
    return MultiFernet(keys)


def secret_encrypt(secret):
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token):
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("No configured PLATFORM_BUCKETS_ENCRYPTION_KEYS key decrypts this secret.") from None


def secret_reencrypt(token):
    """The same secret under the first key (MultiFernet.rotate)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("No configured PLATFORM_BUCKETS_ENCRYPTION_KEYS key decrypts this secret.") from None
