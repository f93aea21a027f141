"""The four OAuth 1.0a values X needs, in a value whose repr never shows the secrets."""

from __future__ import annotations

from dataclasses import dataclass, field


def mask(value: str) -> str:
    """Show at most the last four characters of a key, enough to tell two keys apart."""
    if len(value) <= 8:
        return "***"
    return f"***{value[-4:]}"


@dataclass(frozen=True, kw_only=True)
class XCredentials:
    """An app's consumer key/secret and a user's access token/secret.

    The token pair may be empty while the 3-legged OAuth flow is still running
    (`XAdsClient.request_token` signs with the consumer pair only).
    """

    consumer_key: str
    consumer_secret: str = field(repr=False)
    access_token: str = ""
    access_token_secret: str = field(default="", repr=False)

    def __repr__(self) -> str:
        return (
            f"XCredentials(consumer_key={mask(self.consumer_key)!r}, consumer_secret='***', "
            f"access_token={mask(self.access_token)!r}, access_token_secret='***')"
        )

    __str__ = __repr__

    @property
    def has_token(self) -> bool:
        """True when a user's access token pair is present."""
        return bool(self.access_token and self.access_token_secret)
