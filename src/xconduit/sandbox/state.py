"""The sandbox's in-memory world: accounts, pixels, events, users, tokens, audiences, records.

Every method takes the lock: the uvicorn thread and the caller's thread share this object.
"""

from __future__ import annotations

import copy
import random
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from xconduit.sandbox.audiences import Membership, Operation
from xconduit.sandbox.conversions import PixelContext
from xconduit.sandbox.credentials import SandboxCredentials
from xconduit.sandbox.seed import Seed, SeedAccount, SeedEvent, SeedUser

WRITE_PERMISSIONS = frozenset({"ACCOUNT_ADMIN", "AD_MANAGER"})
_ID_ALPHABET = string.digits + string.ascii_lowercase


def iso(ts: float) -> str:
    """X's timestamp form, e.g. `2024-05-01T12:00:00Z`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(kw_only=True)
class RequestToken:
    secret: str
    callback: str
    verifier: str | None = None
    user_id: str | None = None


@dataclass(kw_only=True)
class Audience:
    id: str
    account_id: str
    name: str
    description: str | None
    created_at: float
    updated_at: float
    deleted: bool = False
    members: Membership = field(default_factory=Membership)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "audience_type": "CRM",
            "targetable": False,
            "targetable_types": ["CRM", "EXCLUDED_CRM"],
            "reasons_not_targetable": ["TOO_SMALL"],
            "audience_size": None,
            "permission_level": "READ_WRITE",
            "owner_account_id": self.account_id,
            "partner_source": "OTHER",
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "deleted": self.deleted,
        }


class SandboxState:
    def __init__(
        self, *, seed: Seed, credentials: SandboxCredentials, clock: Callable[[], float]
    ) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.credentials = credentials
        self.clock = clock
        self.started_at = clock()
        self._rng = random.Random()
        self.accounts: dict[str, SeedAccount] = {a.id: a for a in seed.accounts}
        self.pixel_account: dict[str, str] = {}
        self.events: dict[str, tuple[str, str, SeedEvent]] = {}  # id -> (account, pixel, event)
        for account in seed.accounts:
            for pixel in account.pixels:
                self.pixel_account[pixel.id] = account.id
                for event in pixel.events:
                    self.events[event.id] = (account.id, pixel.id, event)
        self.users: dict[str, SeedUser] = {u.id: u for u in seed.effective_users()}
        first = next(iter(self.users))
        self.tokens: dict[str, tuple[str, str]] = {
            credentials.access_token: (credentials.access_token_secret, first)
        }
        self.request_tokens: dict[str, RequestToken] = {}
        self.reset()

    def reset(self) -> None:
        """Back to the seed: audiences, permissions and records; issued tokens stay valid."""
        with self.lock:
            self.permissions: dict[tuple[str, str], tuple[str, ...]] = {
                (user.id, account_id): tuple(perms)
                for user in self.users.values()
                for account_id, perms in user.permissions.items()
            }
            self.audiences: dict[str, Audience] = {}
            now = self.clock()
            for account in self.seed.accounts:
                for seeded in account.audiences:
                    self.audiences[seeded.id] = Audience(
                        id=seeded.id,
                        account_id=account.id,
                        name=seeded.name,
                        description=seeded.description,
                        created_at=now,
                        updated_at=now,
                    )
            self.conversions: list[dict[str, Any]] = []
            self.requests: list[dict[str, Any]] = []
            self.audience_uploads: list[dict[str, Any]] = []

    def new_id(self, length: int = 5) -> str:
        return "".join(self._rng.choice(_ID_ALPHABET) for _ in range(length))

    def new_secret(self, length: int = 40) -> str:
        return "".join(
            self._rng.choice(string.ascii_letters + string.digits) for _ in range(length)
        )

    def new_pin(self) -> str:
        return f"{self._rng.randrange(10**7):07d}"

    # --- tokens and users -------------------------------------------------------------------

    def consumer_secret_for(self, key: str) -> str | None:
        return self.credentials.consumer_secret if key == self.credentials.consumer_key else None

    def token_secret_for(self, token: str) -> str | None:
        with self.lock:
            if token in self.tokens:
                return self.tokens[token][0]
            pending = self.request_tokens.get(token)
            return pending.secret if pending else None

    def user_for_token(self, token: str) -> str | None:
        with self.lock:
            entry = self.tokens.get(token)
            return entry[1] if entry else None

    def issue_token(self, user_id: str) -> tuple[str, str]:
        if user_id not in self.users:
            raise KeyError(f"unknown sandbox user {user_id}")
        with self.lock:
            token = f"{user_id}-{self.new_secret(40)}"
            secret = self.new_secret(45)
            self.tokens[token] = (secret, user_id)
            return token, secret

    def create_event(self, pixel_id: str, event: SeedEvent) -> None:
        with self.lock:
            account_id = self.pixel_account.get(pixel_id)
            if account_id is None or event.id in self.events:
                raise KeyError(f"unknown pixel {pixel_id} or event id {event.id} taken")
            self.events[event.id] = (account_id, pixel_id, event)

    def revoke_token(self, token: str) -> bool:
        with self.lock:
            return self.tokens.pop(token, None) is not None

    def access(self, user_id: str, account_id: str) -> tuple[str, ...] | None:
        with self.lock:
            if account_id not in self.accounts:
                return None
            return self.permissions.get((user_id, account_id))

    def set_permissions(
        self, user_id: str, account_id: str, permissions: tuple[str, ...] | None
    ) -> None:
        """Set a user's permissions on an account; None removes the user's access."""
        with self.lock:
            if user_id not in self.users or account_id not in self.accounts:
                raise KeyError(f"unknown user {user_id} or account {account_id}")
            if permissions is None:
                self.permissions.pop((user_id, account_id), None)
            else:
                self.permissions[(user_id, account_id)] = tuple(permissions)

    def can_write(self, user_id: str, account_id: str) -> bool:
        return bool(set(self.access(user_id, account_id) or ()) & WRITE_PERMISSIONS)

    # --- conversions ------------------------------------------------------------------------

    def pixel_context(self, pixel_id: str) -> PixelContext | None:
        account_id = self.pixel_account.get(pixel_id)
        if account_id is None:
            return None
        return PixelContext(
            pixel_id=pixel_id,
            account_id=account_id,
            account_events={e: p for e, (a, p, _) in self.events.items() if a == account_id},
            pixel_ids=frozenset(self.pixel_account),
        )

    def record_conversions(self, ctx: PixelContext, conversions: list[dict[str, Any]]) -> None:
        received_at = iso(self.clock())
        with self.lock:
            for conversion in conversions:
                self.conversions.append(
                    {
                        **conversion,
                        "pixel_id": ctx.pixel_id,
                        "account_id": ctx.account_id,
                        "received_at": received_at,
                    }
                )

    # --- audiences --------------------------------------------------------------------------

    def account_audiences(self, account_id: str) -> list[Audience]:
        with self.lock:
            return [a for a in self.audiences.values() if a.account_id == account_id]

    def create_audience(
        self, account_id: str, name: str, description: str | None
    ) -> Audience | None:
        """None when the name is taken in the account (deleted audiences included)."""
        with self.lock:
            if any(a.name == name for a in self.account_audiences(account_id)):
                return None
            now = self.clock()
            audience = Audience(
                id=self.new_id(),
                account_id=account_id,
                name=name,
                description=description,
                created_at=now,
                updated_at=now,
            )
            self.audiences[audience.id] = audience
            return audience

    def apply_operations(
        self, audience: Audience, operations: list[Operation], *, body_bytes: int = 0
    ) -> int:
        with self.lock:
            audience.updated_at = self.clock()
            users = audience.members.apply(operations, now=self.clock())
            self.audience_uploads.append(
                {
                    "audience_id": audience.id,
                    "operations": len(operations),
                    "users": users,
                    "bytes": body_bytes,
                    "time": self.clock(),
                }
            )
            return users

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)

    # --- copies for the Python API and /_sandbox/ -------------------------------------------

    def conversion_records(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.conversions)

    def request_records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.requests]

    def audience_summaries(self) -> list[dict[str, Any]]:
        with self.lock:
            now = self.clock()
            for a in self.audiences.values():
                a.members.expire(now)
            return [
                {**a.as_json(), "member_count": len(a.members)} for a in self.audiences.values()
            ]

    def upload_records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(u) for u in self.audience_uploads]

    def audience_members(self, audience_id: str) -> list[dict[str, list[str]]] | None:
        with self.lock:
            audience = self.audiences.get(audience_id)
            if audience is None:
                return None
            audience.members.expire(self.clock())
            return audience.members.as_json()
