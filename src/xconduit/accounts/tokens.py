"""The connected X account's access token, encrypted at rest in the store.

`xconduit connect` (PIN) and the dashboard's "Connect X account" (three-legged OAuth) save the
token pair X hands back; delivery and the checks use it when the configuration has no
`x.access_token`. It is encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`)
under `connect.token_key`; without a key nothing is stored. Every process sharing the store reads
the same token, and a new connection takes effect at the next request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken

from xconduit.errors import AuthError, ConfigError, XconduitError
from xconduit.xads import AccessToken

SECRET_NAME = "x_access_token"
NO_KEY = (
    "cannot store X tokens without an encryption key: create one with "
    "`xconduit connect --new-key` and set it as XCONDUIT_CONNECT__TOKEN_KEY (or put it in a file "
    "named by XCONDUIT_CONNECT__TOKEN_KEY_FILE), then connect again"
)


def new_key() -> str:
    return Fernet.generate_key().decode()


@dataclass(frozen=True, kw_only=True)
class StoredToken:
    token: str
    secret: str
    user_id: str
    screen_name: str
    connected_at: float

    def __repr__(self) -> str:
        return f"StoredToken(user_id={self.user_id!r}, screen_name={self.screen_name!r})"


class TokenVault:
    """Save, read and forget the connected account's token in `store` (its secrets table)."""

    def __init__(
        self, store: Any, key: str | None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._clock = clock
        self._fernet: Fernet | None = None
        if key:
            try:
                self._fernet = Fernet(key.encode())
            except ValueError:
                raise ConfigError(
                    "connect.token_key is not a Fernet key (32 url-safe base64 bytes); create "
                    "one with `xconduit connect --new-key`"
                ) from None

    @property
    def can_store(self) -> bool:
        return self._fernet is not None

    def save(self, access: AccessToken) -> StoredToken:
        if self._fernet is None:
            raise ConfigError(NO_KEY)
        stored = StoredToken(
            token=access.token,
            secret=access.secret,
            user_id=access.user_id,
            screen_name=access.screen_name,
            connected_at=self._clock(),
        )
        plain = orjson.dumps(vars(stored))
        self._store.put_secret(SECRET_NAME, self._fernet.encrypt(plain), now=self._clock())
        return stored

    def load(self) -> StoredToken | None:
        blob = self._store.get_secret(SECRET_NAME)
        if blob is None or self._fernet is None:
            return None
        try:
            return StoredToken(**orjson.loads(self._fernet.decrypt(blob)))
        except InvalidToken:
            raise ConfigError(
                "the stored X token cannot be decrypted with connect.token_key (was the key "
                "changed?): connect again, or restore the old key"
            ) from None

    def delete(self) -> bool:
        deleted: bool = self._store.delete_secret(SECRET_NAME)
        return deleted


def consumer_refused(error: XconduitError) -> str:
    """What to tell a person whose `request_token` X refused. X's OAuth endpoints answer 401
    with code 32 ("Could not authenticate you.") when the signature does not check out; a
    request token is signed by the consumer key and secret alone, so those are wrong."""
    if (
        isinstance(error, AuthError)
        and error.status == 401
        and any(d.code == "32" for d in error.errors)
    ):
        return (
            "X does not accept the app's consumer key: x.consumer_key / x.consumer_secret are "
            "likely wrong (use the API key and secret of your app in the X developer portal, "
            f"Keys and tokens), or this machine's clock is off ({error})"
        )
    return str(error)
