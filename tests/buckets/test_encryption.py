"""Secrets at rest: encrypted, decryptable after the encryption key is rotated, and re-encrypted by
`manage.py buckets_reencrypt` so the old key can go."""

import pytest
from django.core.management import call_command

from buckets.crypto import SecretUnreadable, secret_decrypt, secret_encrypt
from buckets.models import StorageIdentity, StorageKey

pytestmark = pytest.mark.django_db


def test_rotating_the_encryption_key(settings, alice):
    settings.PLATFORM_BUCKETS_ENCRYPTION_KEYS = ["old-key-" + "o" * 32]
    identity = StorageIdentity.objects.create(user=alice, iam_name="x-user-1")
    stored = secret_encrypt("the secret")
    assert "the secret" not in stored
    key = StorageKey.objects.create(identity=identity, access_key_id="AKIA1", secret_encrypted=stored)
    settings.PLATFORM_BUCKETS_ENCRYPTION_KEYS = ["new-key-" + "n" * 32, "old-key-" + "o" * 32]
    assert secret_decrypt(stored) == "the secret"
    call_command("buckets_reencrypt")
    settings.PLATFORM_BUCKETS_ENCRYPTION_KEYS = ["new-key-" + "n" * 32]
    assert secret_decrypt(StorageKey.objects.get(pk=key.pk).secret_encrypted) == "the secret"
    with pytest.raises(SecretUnreadable):
        secret_decrypt(stored)
