"""Encryption at rest for the secrets Launchpad generates (database password, app key) and plan files.

The key is LAUNCHPAD_ENCRYPTION_KEY (a Fernet key) or, when unset, derived from SECRET_KEY with HKDF.
"""

from __future__ import annotations

import base64
import json
import os

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class DecryptionError(RuntimeError):
    """Stored ciphertext cannot be read with the configured key."""


def _fernet() -> Fernet:
    configured = os.environ.get("LAUNCHPAD_ENCRYPTION_KEY")
    if configured:
        return Fernet(configured.encode())
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"launchpad-at-rest", info=b"fernet").derive(
        settings.SECRET_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_bytes(data: bytes) -> bytes:
    return _fernet().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _fernet().decrypt(bytes(token))
    except InvalidToken as error:
        raise DecryptionError("Stored secrets cannot be decrypted: was the encryption key changed?") from error


def encrypt_json(value: dict) -> str:
    return encrypt_bytes(json.dumps(value).encode()).decode()


def decrypt_json(token: str) -> dict:
    return json.loads(decrypt_bytes(token.encode()))
