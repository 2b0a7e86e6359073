"""Credentials encrypted at rest (Fernet) with a key from configuration.

The key comes from ``JUPYTER_PIPELINE_ENCRYPTION_KEY`` (or the server's
``c.OfflinePipelineApp.encryption_key``); without one, a key file is created once beside
the default store, readable by its owner only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_ENV = "JUPYTER_PIPELINE_ENCRYPTION_KEY"
SECRET_FIELDS = frozenset({"password", "token", "secret"})


class SecretBox:
    def __init__(self, key: str | bytes):
        self._fernet = Fernet(key)
        self.key = key.decode() if isinstance(key, bytes) else key  # for worker processes

    @classmethod
    def from_environment(cls, key_file: Path) -> SecretBox:
        key = os.environ.get(KEY_ENV)
        if key:
            return cls(key)
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        return cls(key_file.read_bytes().strip())

    def seal(self, secrets: dict[str, str]) -> bytes | None:
        return self._fernet.encrypt(json.dumps(secrets).encode()) if secrets else None

    def open(self, sealed: bytes | None) -> dict[str, str]:
        if not sealed:
            return {}
        try:
            return json.loads(self._fernet.decrypt(sealed))
        except InvalidToken:
            raise ValueError(
                "stored credentials cannot be decrypted: the encryption key has changed"
            ) from None
