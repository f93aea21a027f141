"""The X Ads API client: OAuth 1.0a signing, one method per endpoint, one response classifier."""

from __future__ import annotations

from xconduit.xads.auth import OAuth1Auth
from xconduit.xads.batching import MAX_BYTES, MAX_OPERATIONS, UsersChunk, split_operations
from xconduit.xads.client import (
    DEFAULT_BASE_URL,
    DEFAULT_OAUTH_BASE_URL,
    DEFAULT_VERSION,
    MAX_CONVERSIONS,
    XAdsClient,
)
from xconduit.xads.credentials import XCredentials
from xconduit.xads.payloads import (
    AccessToken,
    Account,
    Audience,
    AudiencePage,
    AudienceUsersResult,
    ConversionsResult,
    RateLimitStatus,
    RequestToken,
    UserAccess,
    WebEventTag,
)
from xconduit.xads.responses import Outcome, OutcomeKind, classify, error_for

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_OAUTH_BASE_URL",
    "DEFAULT_VERSION",
    "MAX_BYTES",
    "MAX_CONVERSIONS",
    "MAX_OPERATIONS",
    "AccessToken",
    "Account",
    "Audience",
    "AudiencePage",
    "AudienceUsersResult",
    "ConversionsResult",
    "OAuth1Auth",
    "Outcome",
    "OutcomeKind",
    "RateLimitStatus",
    "RequestToken",
    "UserAccess",
    "UsersChunk",
    "WebEventTag",
    "XAdsClient",
    "XCredentials",
    "classify",
    "error_for",
    "split_operations",
]
