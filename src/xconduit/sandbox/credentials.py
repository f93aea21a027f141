"""The OAuth 1.0a credentials the sandbox accepts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class SandboxCredentials:
    """Consumer (app) key/secret and the access token/secret of the seed's first user.

    The defaults are fixed demo values, printed by `xconduit sandbox` and documented; they are
    not secrets.
    """

    consumer_key: str = "sandboxconsumerkey0000001"
    consumer_secret: str = "sandbox-consumer-secret-0000000000000000000000000001"
    access_token: str = "1000000001-sandboxaccesstoken000000000000000001"
    access_token_secret: str = "sandbox-access-token-secret-000000000000000001"
