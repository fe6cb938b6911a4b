"""Encryption of contact data at rest, and keyed hashes that stand for Telegram ids.

`BOT_DATA_KEY` holds one secret, or several separated by commas, newest first (or a key file
is generated beside the SQLite database). Each secret is stretched with HKDF into a Fernet key
(AES-128-CBC with HMAC-SHA256); data is encrypted under the newest and read under any, so a
new key can be added first and the data re-encrypted under it (`python -m bot keys rotate`)
before the old one is removed.

People are known by an HMAC of their chat id. Its key must never change, or the bot would no
longer recognise anyone (nor find what /forget must delete): it is derived once from the
oldest key and then kept in the database, encrypted like the rest (`Vault.identifier_key`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_SECRET_LENGTH = 32
KEY_FILE_MODE = 0o600
# A Fernet token: version byte 0x80, 8-byte time, 16-byte IV, AES blocks, 32-byte HMAC.
_TOKEN_VERSION = 0x80
_TOKEN_OVERHEAD = 1 + 8 + 16 + 32
_BLOCK = 16


class DataKeyError(ValueError):
    """The data key is missing, too short, unreadable, or not the one the data was written with."""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


def parse_keys(value: str) -> list[str]:
    """Split a `BOT_DATA_KEY` value into its secrets, newest first."""
    return [part.strip() for part in value.split(",") if part.strip()]


class Vault:
    """Encrypts and decrypts short texts, and hashes identifiers, under the data keys."""

    def __init__(
        self, secrets: str | Sequence[str], *, identifier_key: bytes | None = None
    ) -> None:
        keys = parse_keys(secrets) if isinstance(secrets, str) else list(secrets)
        if not keys:
            raise DataKeyError("no data key was given")
        if any(len(key) < MIN_SECRET_LENGTH for key in keys):
            raise DataKeyError(f"each data key must be at least {MIN_SECRET_LENGTH} characters")
        self._keys = keys
        self._fernet = MultiFernet(
            [
                Fernet(base64.urlsafe_b64encode(_derive(key.encode(), b"faqbot contact data")))
                for key in keys
            ]
        )
        self.identifier_key = identifier_key or _derive(keys[-1].encode(), b"faqbot identifiers")

    def with_identifier_key(self, identifier_key: bytes) -> Vault:
        """The same keys, naming people with `identifier_key` (the one kept in the database)."""
        return Vault(self._keys, identifier_key=identifier_key)

    @property
    def key_count(self) -> int:
        """How many data keys are configured."""
        return len(self._keys)

    def encrypt(self, text: str) -> bytes:
        """Return `text` encrypted under the newest key."""
        return self._fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        """Return the text `token` was made from; raise `DataKeyError` under another key."""
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken:
            raise DataKeyError("data was encrypted with another key") from None

    def encrypt_bytes(self, data: bytes) -> bytes:
        """Return `data` encrypted under the newest key."""
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        """Return the bytes `token` was made from; raise `DataKeyError` under another key."""
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise DataKeyError("data was encrypted with another key") from None

    def rotate(self, token: bytes) -> bytes:
        """Return `token` re-encrypted under the newest key."""
        try:
            return self._fernet.rotate(token)
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
        digest = hmac.new(self.identifier_key, str(value).encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:32]


def looks_encrypted(data: bytes) -> bool:
    """Whether `data` has the shape of a token `Vault.encrypt` makes (under whatever key)."""
    try:
        raw = base64.urlsafe_b64decode(data)
    except (binascii.Error, ValueError):
        return False
    ciphertext = len(raw) - _TOKEN_OVERHEAD
    return raw[:1] == bytes([_TOKEN_VERSION]) and ciphertext >= _BLOCK and ciphertext % _BLOCK == 0


def load_or_create_key_file(path: Path) -> tuple[str, bool]:
    """Return the secret stored in `path`, creating it (mode 0600) if missing.

    The second value is True when the file was just created.
    """
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if any(len(key) < MIN_SECRET_LENGTH for key in parse_keys(secret)) or not secret:
            raise DataKeyError(f"the key file {path} is damaged (too short)")
        return secret, False
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = Fernet.generate_key().decode("ascii")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secret + "\n")
    return secret, True
