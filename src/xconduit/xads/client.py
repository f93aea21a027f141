"""XAdsClient: one method per X Ads API endpoint, over an injected `httpx.Client`.

Every answer goes through `responses.classify`; anything but `delivered` is raised as an error
from `xconduit.errors`. Timeouts and dropped connections become RetriableDeliveryError: the
request may or may not have reached X, which is safe because conversions are deduplicated on
`conversion_id` and audience Update/Delete operations are idempotent.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from xconduit.errors import ConfigError, RetriableDeliveryError
from xconduit.xads import payloads
from xconduit.xads.auth import OAuth1Auth
from xconduit.xads.batching import MAX_BYTES, MAX_OPERATIONS, encode, split_operations
from xconduit.xads.credentials import XCredentials
from xconduit.xads.payloads import (
    AccessToken,
    Account,
    Audience,
    AudiencePage,
    AudienceUsersResult,
    ConversionsResult,
    RequestToken,
    UserAccess,
    WebEventTag,
)
from xconduit.xads.responses import Outcome, OutcomeKind, classify, error_for, parse_json

log = logging.getLogger("xconduit.xads")

DEFAULT_BASE_URL = "https://ads-api.x.com"
DEFAULT_OAUTH_BASE_URL = "https://api.x.com"
DEFAULT_VERSION = "12"
MAX_CONVERSIONS = 500
JSON = {"Content-Type": "application/json"}
_RETRIABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def _segment(value: str) -> str:
    # Ids go into the path; quoting keeps a stray "/" or ".." from reaching another route.
    if not value:
        raise ValueError("an id in the URL path must not be empty")
    return quote(value, safe="")


class XAdsClient:
    """Signed calls to the X Ads API (and X's OAuth 1.0a token endpoints)."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        credentials: XCredentials,
        base_url: str = DEFAULT_BASE_URL,
        version: str = DEFAULT_VERSION,
        oauth_base_url: str = DEFAULT_OAUTH_BASE_URL,
        clock: Callable[[], float] = time.time,
        auth: httpx.Auth | None = None,
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._api = f"{base_url.rstrip('/')}/{version.strip('/')}"
        self._oauth = oauth_base_url.rstrip("/")
        self._version = version
        self._clock = clock
        self._auth = auth or OAuth1Auth(credentials)
        self._version_noted = False

    def __repr__(self) -> str:
        return f"XAdsClient(api={self._api!r}, credentials={self._credentials!r})"

    def close(self) -> None:
        """Close the HTTP connections (the client is not used after)."""
        self._http.close()

    # -- transport --------------------------------------------------------------------------

    def _send(
        self,
        endpoint: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        sent_users: int | None = None,
    ) -> tuple[Outcome, httpx.Response]:
        """Make one request; return a delivered (or partial) outcome, raise anything else."""
        try:
            response = self._http.request(
                method,
                url,
                params=params,
                content=content,
                headers=headers,
                auth=auth or self._auth,
            )
        except _RETRIABLE_TRANSPORT as exc:
            log.warning("x %s: no answer (%s); retriable", endpoint, type(exc).__name__)
            raise RetriableDeliveryError(
                f"{endpoint}: no answer from X ({type(exc).__name__}); the request may or may "
                "not have arrived"
            ) from exc
        except httpx.UnsupportedProtocol as exc:
            raise ConfigError(f"X base URL {url!r} is not http(s): {exc}") from exc
        outcome = classify(
            response.status_code,
            response.headers,
            response.content,
            sent_users=sent_users,
            now=self._clock(),
        )
        self._log(endpoint, outcome)
        if outcome.kind is OutcomeKind.PARTIAL and sent_users is not None:
            return outcome, response
        error = error_for(outcome, endpoint)
        if error is not None:
            raise error
        return outcome, response

    def _log(self, endpoint: str, outcome: Outcome) -> None:
        # Only the endpoint name, status and X's ids: URLs hold account ids, bodies hold hashes.
        log.debug(
            "x %s -> %s %s debug_id=%s x-current-api-version=%s",
            endpoint,
            outcome.status,
            outcome.kind,
            outcome.debug_id,
            outcome.api_version,
        )
        if outcome.api_warn:
            log.warning("X API WARNING on %s: %s", endpoint, outcome.api_warn)
        if outcome.api_version and outcome.api_version != self._version and not self._version_noted:
            self._version_noted = True
            log.warning(
                "X's current Ads API version is %s; this client calls version %s",
                outcome.api_version,
                self._version,
            )
        if outcome.kind is not OutcomeKind.DELIVERED:
            log.info(
                "x %s -> %s %s debug_id=%s codes=%s",
                endpoint,
                outcome.status,
                outcome.kind,
                outcome.debug_id,
                ",".join(e.code or "-" for e in outcome.errors) or "-",
            )

    def _get(self, endpoint: str, path: str, params: Mapping[str, str] | None = None) -> Any:
        _, response = self._send(endpoint, "GET", f"{self._api}{path}", params=params)
        return parse_json(response.content)

    def _get_all(self, endpoint: str, path: str) -> Iterator[Any]:
        """`data` items of every page of a cursored collection."""
        params: dict[str, str] = {"count": "1000"}
        while True:
            document = self._get(endpoint, path, params)
            yield _data_of(document)
            cursor = payloads.next_cursor(document)
            if cursor is None:
                return
            params = {**params, "cursor": cursor}

    # -- Conversion API -----------------------------------------------------------------------

    def send_conversions(
        self, pixel_id: str, conversions: Sequence[Mapping[str, Any]]
    ) -> ConversionsResult:
        """POST /measurement/conversions/:pixel_id with 1-500 conversions (all-or-nothing)."""
        if not 1 <= len(conversions) <= MAX_CONVERSIONS:
            raise ValueError(f"send 1 to {MAX_CONVERSIONS} conversions, not {len(conversions)}")
        body = encode({"conversions": list(conversions)})
        path = f"/measurement/conversions/{_segment(pixel_id)}"
        _, response = self._send(
            "conversions", "POST", f"{self._api}{path}", content=body, headers=JSON
        )
        result = payloads.parse_conversions(parse_json(response.content), sent=len(conversions))
        result = dataclasses.replace(result, rate_limit=payloads.parse_rate_limit(response.headers))
        if not result.complete:
            log.warning(
                "x conversions: X processed %s of %s conversions (debug_id=%s)",
                result.processed,
                result.sent,
                result.debug_id,
            )
        return result

    # -- Custom audiences ---------------------------------------------------------------------

    def _audiences_path(self, account_id: str) -> str:
        return f"/accounts/{_segment(account_id)}/custom_audiences"

    def create_audience(
        self, account_id: str, name: str, description: str | None = None
    ) -> Audience:
        """POST custom_audiences?name=...; X wants the fields as (signed) query parameters."""
        params = {"name": name}
        if description is not None:
            params["description"] = description
        url = f"{self._api}{self._audiences_path(account_id)}"
        _, response = self._send("create_audience", "POST", url, params=params)
        return payloads.parse_audience(_data(response))

    def list_audiences(
        self,
        account_id: str,
        *,
        name_prefix: str | None = None,
        cursor: str | None = None,
        count: int | None = None,
    ) -> AudiencePage:
        """One page of the account's custom audiences; follow `next_cursor` for more."""
        params: dict[str, str] = {}
        if name_prefix is not None:
            params["q"] = name_prefix
        if cursor is not None:
            params["cursor"] = cursor
        if count is not None:
            if not 1 <= count <= 1000:
                raise ValueError("count must be between 1 and 1000")
            params["count"] = str(count)
        document = self._get("list_audiences", self._audiences_path(account_id), params)
        return payloads.parse_audience_page(document)

    def iter_audiences(
        self, account_id: str, *, name_prefix: str | None = None, count: int | None = None
    ) -> Iterator[Audience]:
        """Every custom audience of the account, page after page."""
        cursor: str | None = None
        while True:
            page = self.list_audiences(
                account_id, name_prefix=name_prefix, cursor=cursor, count=count
            )
            yield from page.audiences
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_audience(self, account_id: str, audience_id: str) -> Audience:
        path = f"{self._audiences_path(account_id)}/{_segment(audience_id)}"
        return payloads.parse_audience(_data_of(self._get("get_audience", path)))

    def delete_audience(self, account_id: str, audience_id: str) -> Audience:
        url = f"{self._api}{self._audiences_path(account_id)}/{_segment(audience_id)}"
        _, response = self._send("delete_audience", "DELETE", url)
        return payloads.parse_audience(_data(response))

    def audience_users(
        self,
        account_id: str,
        audience_id: str,
        operations: Sequence[Mapping[str, Any]],
        *,
        max_operations: int = MAX_OPERATIONS,
        max_bytes: int = MAX_BYTES,
    ) -> AudienceUsersResult:
        """Add/remove users, split into requests of <= 2,500 operations and <= 5,000,000 bytes.

        Counts are summed over the requests. A request whose counts differ from its users does
        not raise (it is logged and `matched` is False); X asks for the whole payload again.
        An error in any request raises it; resending everything is safe (idempotent).
        """
        chunks = split_operations(operations, max_operations=max_operations, max_bytes=max_bytes)
        url = f"{self._api}{self._audiences_path(account_id)}/{_segment(audience_id)}/users"
        success = total = sent = 0
        rate_limit = None
        for chunk in chunks:
            outcome, response = self._send(
                "audience_users",
                "POST",
                url,
                content=chunk.body,
                headers=JSON,
                sent_users=chunk.users,
            )
            if outcome.kind is OutcomeKind.PARTIAL:
                log.warning(
                    "x audience_users: X counted %s/%s of %s users sent",
                    outcome.success_count,
                    outcome.total_count,
                    chunk.users,
                )
            success += outcome.success_count or 0
            total += outcome.total_count or 0
            sent += chunk.users
            rate_limit = payloads.parse_rate_limit(response.headers) or rate_limit
        return AudienceUsersResult(
            success_count=success,
            total_count=total,
            sent_users=sent,
            requests=len(chunks),
            rate_limit=rate_limit,
        )

    # -- Accounts and permissions ---------------------------------------------------------------

    def authenticated_user_access(self, account_id: str) -> UserAccess:
        path = f"/accounts/{_segment(account_id)}/authenticated_user_access"
        document = self._get("authenticated_user_access", path)
        return payloads.parse_user_access(_data_of(document))

    def accounts(self) -> list[Account]:
        """Every ad account the token can reach (all pages)."""
        pages = self._get_all("accounts", "/accounts")
        return [account for page in pages for account in payloads.parse_accounts(page)]

    def web_event_tags(self, account_id: str) -> list[WebEventTag]:
        """The account's conversion events, with the pixel each belongs to (all pages)."""
        path = f"/accounts/{_segment(account_id)}/web_event_tags"
        pages = self._get_all("web_event_tags", path)
        return [tag for page in pages for tag in payloads.parse_web_event_tags(page)]

    # -- 3-legged OAuth -------------------------------------------------------------------------

    def request_token(self, callback: str) -> RequestToken:
        """Step 1: a temporary token, signed with the consumer pair and `oauth_callback`."""
        consumer = XCredentials(
            consumer_key=self._credentials.consumer_key,
            consumer_secret=self._credentials.consumer_secret,
        )
        auth = OAuth1Auth(consumer, callback_uri=callback)
        url = f"{self._oauth}/oauth/request_token"
        _, response = self._send("oauth/request_token", "POST", url, auth=auth)
        return payloads.parse_request_token(response.content)

    def authorize_url(self, token: str) -> str:
        """Step 2: where the user approves the app (X redirects back with a verifier)."""
        return f"{self._oauth}/oauth/authorize?{urlencode({'oauth_token': token})}"

    def access_token(self, token: str, secret: str, verifier: str) -> AccessToken:
        """Step 3: trade the approved temporary token and verifier for the user's token."""
        temporary = XCredentials(
            consumer_key=self._credentials.consumer_key,
            consumer_secret=self._credentials.consumer_secret,
            access_token=token,
            access_token_secret=secret,
        )
        auth = OAuth1Auth(temporary, verifier=verifier)
        url = f"{self._oauth}/oauth/access_token"
        _, response = self._send("oauth/access_token", "POST", url, auth=auth)
        return payloads.parse_access_token(response.content)


def _data_of(document: Any) -> Any:
    return document.get("data") if isinstance(document, dict) else None


def _data(response: httpx.Response) -> Any:
    return _data_of(parse_json(response.content))
