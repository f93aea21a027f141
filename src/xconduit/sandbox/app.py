"""`Sandbox`: the in-process state of the fake X Ads API and its Starlette app."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from xconduit.sandbox.credentials import SandboxCredentials
from xconduit.sandbox.envelope import ROUTE_NOT_FOUND, ApiError, error_response
from xconduit.sandbox.faults import FaultInjector
from xconduit.sandbox.guard import RecordingMiddleware
from xconduit.sandbox.oauth import OAuthVerifier
from xconduit.sandbox.ratelimit import Quota, RateLimit, RateLimiter
from xconduit.sandbox.routes_api import api_routes
from xconduit.sandbox.routes_audiences import audience_routes
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
        self.limiter = RateLimiter(clock=clock)
        self.oauth = OAuthVerifier(
            consumer_secret_for=self.state.consumer_secret_for,
            token_secret_for=self.state.token_secret_for,
            clock=clock,
        )
        self.app = RecordingMiddleware(self._starlette(), self)

    def _starlette(self) -> Starlette:
        async def not_found(request: Request, exc: Exception) -> Response:
            return error_response([ROUTE_NOT_FOUND])

        async def not_allowed(request: Request, exc: Exception) -> Response:
            return error_response([_METHOD_NOT_ALLOWED])

        routes = [
            *api_routes(self),
            *audience_routes(self),
            *oauth_routes(self),
            *inspect_routes(self),
        ]
        handlers: dict[Any, Any] = {404: not_found, 405: not_allowed}
        app = Starlette(routes=routes, exception_handlers=handlers)
        app.state.sandbox = self
        return app

    # --- Python API used by tests, the CLI and the gateway ------------------------------------

    def conversions(self) -> list[dict[str, Any]]:
        """Every accepted conversion, as sent, plus `pixel_id`, `account_id`, `received_at`."""
        with self.state.lock:
            return copy.deepcopy(self.state.conversions)

    def requests(self) -> list[dict[str, Any]]:
        """Every API/OAuth request: `method`, `path`, `status` (or "dropped"), `time`."""
        with self.state.lock:
            return [dict(r) for r in self.state.requests]

    def audiences(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                {**a.as_json(), "member_count": len(a.members)}
                for a in self.state.audiences.values()
            ]

    def audience_uploads(self) -> list[dict[str, Any]]:
        """Accepted audience-users requests: `audience_id`, `operations`, `users`, `bytes`."""
        with self.state.lock:
            return [dict(u) for u in self.state.audience_uploads]

    def audience_members(self, audience_id: str) -> list[dict[str, list[str]]] | None:
        """Current members (hashed values by key), or None for an unknown audience."""
        with self.state.lock:
            audience = self.state.audiences.get(audience_id)
            return None if audience is None else audience.members.as_json()

    def reset(self) -> None:
        """Forget conversions, requests, audiences (back to the seed), budgets, faults, nonces."""
        self.state.reset()
        self.limiter.reset()
        self.faults.clear()
        self.oauth.reset()

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
        if user_id not in self.state.users or account_id not in self.state.accounts:
            raise KeyError(f"unknown user {user_id} or account {account_id}")
        self.state.set_permissions(user_id, account_id, permissions)

    # --- rate limits ---------------------------------------------------------------------------

    def conversion_quotas(self, account_id: str, events: int) -> list[Quota]:
        rl = self.rate_limit
        quotas = []
        if rl.conversion_requests is not None:
            quotas.append(
                self.limiter.check(
                    (account_id, "conversion_requests"),
                    cost=1,
                    limit=rl.conversion_requests,
                    window=rl.window_seconds,
                )
            )
        if rl.conversion_events is not None:
            quotas.append(
                self.limiter.check(
                    (account_id, "conversion_events"),
                    cost=events,
                    limit=rl.conversion_events,
                    window=rl.window_seconds,
                )
            )
        return quotas

    def spend_conversion_requests(self, account_id: str) -> dict[str, str]:
        rl = self.rate_limit
        if rl.conversion_requests is None:
            return self._events_headers(account_id)
        quota = self.limiter.spend(
            (account_id, "conversion_requests"),
            cost=1,
            limit=rl.conversion_requests,
            window=rl.window_seconds,
        )
        return quota.headers()

    def spend_conversion_events(self, account_id: str, events: int) -> dict[str, str]:
        rl = self.rate_limit
        if rl.conversion_events is None:
            return {}
        quota = self.limiter.spend(
            (account_id, "conversion_events"),
            cost=events,
            limit=rl.conversion_events,
            window=rl.window_seconds,
        )
        return quota.headers()

    def _events_headers(self, account_id: str) -> dict[str, str]:
        rl = self.rate_limit
        if rl.conversion_events is None:
            return {}
        quota = self.limiter.check(
            (account_id, "conversion_events"),
            cost=0,
            limit=rl.conversion_events,
            window=rl.window_seconds,
        )
        return quota.headers()

    def audience_quota(self, account_id: str) -> Quota | None:
        rl = self.rate_limit
        if rl.audience_requests is None:
            return None
        return self.limiter.check(
            (account_id, "audience_requests"),
            cost=1,
            limit=rl.audience_requests,
            window=rl.audience_window_seconds,
        )

    def spend_audience_request(self, account_id: str) -> dict[str, str]:
        rl = self.rate_limit
        if rl.audience_requests is None:
            return {}
        quota = self.limiter.spend(
            (account_id, "audience_requests"),
            cost=1,
            limit=rl.audience_requests,
            window=rl.audience_window_seconds,
        )
        return quota.headers()
