"""The portal as the registry's token issuer (distribution's "token" auth).

The registry trusts a certificate (``rootcertbundle``); the portal signs short-lived RS256 JWTs
with its key. The JWT header's ``kid`` is the libtrust fingerprint of the public key, which is how
distribution 2.x finds the verifying key among the bundle's certificates.
"""

import base64
import datetime
import hashlib
import os
import secrets
import tempfile
import time
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings


def _write_once(path, data):
    """Write `data` to `path` unless it exists; several processes may race, one wins (link is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(data)
    os.chmod(handle.name, 0o600)
    try:
        os.link(handle.name, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(handle.name)


def ensure_signing_material():
    """The key and certificate, generated on first use where the settings point. Idempotent."""
    key_path, cert_path = Path(settings.PLATFORM_REGISTRY_TOKEN_KEY_FILE), Path(settings.PLATFORM_REGISTRY_TOKEN_CERT_FILE)
    if not key_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_once(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    if not cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, settings.PLATFORM_REGISTRY_TOKEN_ISSUER)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
                .sign(key, hashes.SHA256()))
        _write_once(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def libtrust_key_id(public_key):
    """distribution's key id: base32 of the first 240 bits of SHA-256(DER public key), in 4-character groups."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(encoded[i:i + 4] for i in range(0, len(encoded), 4))


_cache = {}


def _key():
    key_path, _ = ensure_signing_material()
    stamp = (str(key_path), key_path.stat().st_mtime)
    if _cache.get("stamp") != stamp:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        _cache.update(stamp=stamp, key=key, kid=libtrust_key_id(key.public_key()))
    return _cache["key"], _cache["kid"]


def registry_token_issue(*, subject, access, lifetime=None):
    """A signed registry token granting `access` ([{"type", "name", "actions"}]) to `subject`."""
    key, kid = _key()
    lifetime = lifetime or settings.PLATFORM_REGISTRY_TOKEN_SECONDS
    now = int(time.time())
    claims = {
        "iss": settings.PLATFORM_REGISTRY_TOKEN_ISSUER,
        "sub": subject,
        "aud": settings.PLATFORM_REGISTRY_SERVICE,
        "iat": now,
        "nbf": now - 30,  # clock skew between portal and registry
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
        "access": access,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid}), lifetime
