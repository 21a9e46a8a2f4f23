"""Encryption of secrets at rest with MultiFernet.

Keys come from settings.TOKEN_ENCRYPTION_KEYS: the first encrypts, every key decrypts, so keys
rotate by prepending a new one, re-encrypting (`manage.py rotate_token_keys`), then dropping the
old one. Each ciphertext is bound to its owner (the org id is sealed inside it), so a ciphertext
copied onto another organization's row does not decrypt there.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted with the configured keys, or is not its owner's."""


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.TOKEN_ENCRYPTION_KEYS))


def encrypt_secret(plaintext: str, *, owner: str) -> str:
    """Encrypt `plaintext` for `owner` with the current primary key."""
    return _fernet().encrypt(f"{owner}\x00{plaintext}".encode()).decode("ascii")


def decrypt_secret(ciphertext: str, *, owner: str) -> str:
    """Decrypt a secret of `owner`; raises SecretDecryptionError (never showing the secret)."""
    try:
        sealed = _fernet().decrypt(ciphertext.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretDecryptionError(
            "stored secret cannot be decrypted with the configured keys"
        ) from exc
    sealed_owner, _, plaintext = sealed.partition("\x00")
    if sealed_owner != owner:
        raise SecretDecryptionError("stored secret belongs to another owner")
    return plaintext


def reencrypt_secret(ciphertext: str) -> str:
    """Re-encrypt with the primary key (MultiFernet.rotate); the owner binding is kept."""
    try:
        return _fernet().rotate(ciphertext.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise SecretDecryptionError(
            "stored secret cannot be decrypted with the configured keys"
        ) from exc


def fingerprint(secret: str) -> str:
    """A short, non-reversible identifier for a secret, safe to show and log."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]
