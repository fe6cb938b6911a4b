"""Encryption of contact data at rest, and keyed hashes that stand for Telegram ids.

One secret (`BOT_DATA_KEY`, or a key file generated beside the SQLite database) is stretched
with HKDF into two independent keys: one for Fernet (AES-128-CBC with HMAC-SHA256) and one
for the HMAC that turns a chat id into an opaque, stable key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_SECRET_LENGTH = 32
KEY_FILE_MODE = 0o600


class DataKeyError(ValueError):
    """The data key is missing, too short or unreadable."""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class Vault:
    """Encrypts and decrypts short texts, and hashes identifiers, under one secret."""

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise DataKeyError(f"the data key must be at least {MIN_SECRET_LENGTH} characters")
        raw = secret.encode("utf-8")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(raw, b"faqbot contact data")))
        self._hash_key = _derive(raw, b"faqbot identifiers")

    def encrypt(self, text: str) -> bytes:
        """Return `text` encrypted."""
        return self._fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        """Return the text `token` was made from; raise `DataKeyError` under another key."""
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken:
            raise DataKeyError("data was encrypted with another key") from None

    def encrypt_optional(self, text: str | None) -> bytes | None:
        """Encrypt `text`, passing None through."""
        return None if text is None else self.encrypt(text)

    def decrypt_optional(self, token: bytes | None) -> str | None:
        """Decrypt `token`, passing None through."""
        return None if token is None else self.decrypt(token)

    def identifier(self, value: int | str) -> str:
        """Return a keyed hash of `value` (a chat or user id): stable, not reversible."""
        digest = hmac.new(self._hash_key, str(value).encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:32]


def load_or_create_key_file(path: Path) -> tuple[str, bool]:
    """Return the secret stored in `path`, creating it (mode 0600) if missing.

    The second value is True when the file was just created.
    """
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if len(secret) < MIN_SECRET_LENGTH:
            raise DataKeyError(f"the key file {path} is damaged (too short)")
        return secret, False
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = Fernet.generate_key().decode("ascii")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secret + "\n")
    return secret, True
