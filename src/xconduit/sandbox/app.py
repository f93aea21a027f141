"""`Sandbox`: the in-process state of the fake X Ads API and its Starlette app."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from xconduit.sandbox.context import SandboxContext
from xconduit.sandbox.credentials import SandboxCredentials
from xconduit.sandbox.envelope import ROUTE_NOT_FOUND, ApiError, error_response
from xconduit.sandbox.faults import FaultInjector
from xconduit.sandbox.guard import RecordingMiddleware
from xconduit.sandbox.oauth import OAuthVerifier
from xconduit.sandbox.ratelimit import RateLimit, RateLimiter
from xconduit.sandbox.routes_accounts import account_routes
from xconduit.sandbox.routes_audiences import audience_routes
from xconduit.sandbox.routes_conversions import conversion_routes
from xconduit.sandbox.routes_inspect import inspect_routes
from xconduit.sandbox.routes_oauth import oauth_routes
from xconduit.sandbox.seed import DEMO_SEED, Seed, SeedEvent
from xconduit.sandbox.state import SandboxState

_METHOD_NOT_ALLOWED = ApiError(
    status=405, code="METHOD_NOT_ALLOWED", message="This method is not allowed on this resource"
)


class Sandbox:
    """A faithful local fake of the X Ads API parts xconduit uses.

    `app` is the ASGI app (serve it with `serve_sandbox` or mount it); `faults` injects failures;
    `conversions()`, `requests()`, `audiences()` show what was received; `reset()` starts over.
    `clock` drives OAuth timestamps, rate-limit windows and recorded times.
    """

    def __init__(
        self,
        *,
        seed: Seed | None = None,
        credentials: SandboxCredentials | None = None,
        rate_limit: RateLimit | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.seed = seed if seed is not None else DEMO_SEED
        self.credentials = credentials or SandboxCredentials()
        self.rate_limit = rate_limit or RateLimit()
        self.clock = clock
        self.state = SandboxState(seed=self.seed, credentials=self.credentials, clock=clock)
        self.faults = FaultInjector(rng=rng)
        self.limiter = RateLimiter(limits=self.rate_limit, clock=clock)
        self.oauth = OAuthVerifier(
            consumer_secret_for=self.state.consumer_secret_for,
            token_secret_for=self.state.token_secret_for,
            clock=clock,
        )
        self.context = SandboxContext(
            state=self.state,
            faults=self.faults,
            limiter=self.limiter,
            oauth=self.oauth,
            clock=clock,
        )
        self.app = RecordingMiddleware(_starlette(self.context), self.context)

    # --- Python API used by tests, the CLI and the gateway ------------------------------------

    def conversions(self) -> list[dict[str, Any]]:
        """Every accepted conversion, as sent, plus `pixel_id`, `account_id`, `received_at`."""
        return self.state.conversion_records()

    def requests(self) -> list[dict[str, Any]]:
        """Every API/OAuth request: `method`, `path`, `status` (or "dropped"), `time`."""
        return self.state.request_records()

    def audiences(self) -> list[dict[str, Any]]:
        return self.state.audience_summaries()

    def audience_uploads(self) -> list[dict[str, Any]]:
        """Accepted audience-users requests: `audience_id`, `operations`, `users`, `bytes`."""
        return self.state.upload_records()

    def audience_members(self, audience_id: str) -> list[dict[str, list[str]]] | None:
        """Current members (hashed values by key), or None for an unknown audience."""
        return self.state.audience_members(audience_id)

    def reset(self) -> None:
        """Forget conversions, requests, audiences (back to the seed), budgets, faults, nonces."""
        self.context.reset()

    def issue_token(self, user_id: str) -> SandboxCredentials:
        """Credentials with a fresh access token for a seeded user (as the 3-legged flow gives)."""
        token, secret = self.state.issue_token(user_id)
        return SandboxCredentials(
            consumer_key=self.credentials.consumer_key,
            consumer_secret=self.credentials.consumer_secret,
            access_token=token,
            access_token_secret=secret,
        )

    def create_event(self, pixel_id: str, event: SeedEvent) -> None:
        """As creating a conversion event in Events Manager: `event` now belongs to the pixel."""
        self.state.create_event(pixel_id, event)

    def revoke_token(self, token: str) -> bool:
        """As when the user revokes the app's access on X: the token is refused (401) from now."""
        return self.state.revoke_token(token)

    def set_permissions(
        self, user_id: str, account_id: str, permissions: tuple[str, ...] | None
    ) -> None:
        """Set a user's permissions on an account; None removes the user's access."""
        self.state.set_permissions(user_id, account_id, permissions)


def _starlette(ctx: SandboxContext) -> Starlette:
    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response([ROUTE_NOT_FOUND])

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return error_response([_METHOD_NOT_ALLOWED])

    routes = [
        *conversion_routes(ctx),
        *account_routes(ctx),
        *audience_routes(ctx),
        *oauth_routes(ctx),
        *inspect_routes(ctx),
    ]
    handlers: dict[Any, Any] = {404: not_found, 405: not_allowed}
    return Starlette(routes=routes, exception_handlers=handlers)
