"""The OpenAPI 3.1 document of the collector (`GET /openapi.json`)."""

from __future__ import annotations

from typing import Any

_EVENT_TYPES = ["track", "page", "screen", "identify", "group", "alias"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
    }


_ANSWERS: dict[str, Any] = {
    "200": {
        "description": "Committed to the outbox (rejected events, if any, are listed).",
        "content": {"application/json": {"schema": _ref("Answer")}},
    },
    "400": _error("Malformed JSON, bad gzip, or no valid event in the request."),
    "401": _error("Missing or unknown write key."),
    "403": _error("The request's Origin is not allowed for the source."),
    "413": _error("Body larger than 32 KB (one event) or 500 KB (a batch), after decompression."),
    "429": _error("The source's rate limit is exceeded; see Retry-After."),
    "503": _error("The store is unavailable; retry after Retry-After seconds."),
}


def _post(summary: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "security": [{"basic": []}, {}],
            "parameters": [
                {
                    "name": "Content-Encoding",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "enum": ["gzip", "deflate", "identity"]},
                }
            ],
            "requestBody": {
                "required": True,
                "description": "JSON, whatever the Content-Type (analytics.js sends text/plain).",
                "content": {
                    "application/json": {"schema": schema},
                    "text/plain": {"schema": schema},
                },
            },
            "responses": _ANSWERS,
        }
    }


def _get(summary: str, content_type: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "responses": {
                "200": {"description": "OK", "content": {content_type: {"schema": schema}}},
                **extra,
            },
        }
    }


def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        f"/v1/{kind}": _post(f"One {kind} event (Segment tracking API).", _ref("Event"))
        for kind in _EVENT_TYPES
    }
    paths["/v1/batch"] = _post("Several events of any type in one request.", _ref("Batch"))
    paths["/v1/b"] = _post("Alias of /v1/batch (analytics-next).", _ref("Batch"))
    paths["/tag.js"] = _get("The website tag.", "application/javascript", {"type": "string"})
    paths["/tag/plugin.js"] = _get(
        "The analytics-next destination plugin.", "application/javascript", {"type": "string"}
    )
    paths["/v1/tag-config"] = {
        "get": {
            "summary": "Public tag settings of the destinations of a write key's source.",
            "parameters": [
                {"name": "key", "in": "query", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {
                    "description": "Tag settings",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "401": _error("Missing or unknown write key."),
                "404": _error("The source has no tag configured."),
            },
        }
    }
    status = {"type": "object", "properties": {"status": {"type": "string"}}}
    paths["/healthz"] = _get("The process is up.", "application/json", status)
    paths["/readyz"] = _get(
        "Ready to accept events.",
        "application/json",
        status,
        **{
            "503": _error(
                "Starting, or a setup check fails or an account is paused in a live "
                "delivery process (`problems`, `reported_by`)."
            )
        },
    )
    paths["/openapi.json"] = _get("This document.", "application/json", {"type": "object"})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "xconduit collector",
            "version": "1",
            "description": "Segment-compatible HTTP tracking API. A 200 means committed.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            "schemas": _schemas(),
        },
    }


def _schemas() -> dict[str, Any]:
    text = {"type": "string"}
    obj = {"type": "object"}
    return {
        "Event": {
            "type": "object",
            "description": "A Segment event; userId or anonymousId is required.",
            "properties": {
                "type": {"type": "string", "enum": _EVENT_TYPES},
                "messageId": text,
                "userId": text,
                "anonymousId": text,
                "event": text,
                "name": text,
                "groupId": text,
                "previousId": text,
                "timestamp": {"type": "string", "format": "date-time"},
                "originalTimestamp": {"type": "string", "format": "date-time"},
                "sentAt": {"type": "string", "format": "date-time"},
                "properties": obj,
                "traits": obj,
                "context": obj,
                "integrations": obj,
                "writeKey": text,
            },
        },
        "Batch": {
            "type": "object",
            "required": ["batch"],
            "properties": {
                "batch": {"type": "array", "items": _ref("Event")},
                "writeKey": text,
                "sentAt": {"type": "string", "format": "date-time"},
                "context": obj,
                "integrations": obj,
            },
        },
        "Answer": {
            "type": "object",
            "required": ["success", "accepted", "duplicates", "rejected"],
            "properties": {
                "success": {"type": "boolean"},
                "accepted": {"type": "integer"},
                "duplicates": {"type": "integer"},
                "rejected": {"type": "array", "items": _ref("Rejected")},
                "invalid": {"type": "array", "items": _ref("Unsendable")},
                "dropped": {"type": "array", "items": _ref("Dropped")},
            },
        },
        "Dropped": {
            "type": "object",
            "description": "A field of an accepted event that a destination left out (never "
            "its value): an identifier by kind, another field by its path.",
            "properties": {
                "index": {"type": "integer"},
                "messageId": text,
                "destination": text,
                "field": text,
                "rule": text,
            },
        },
        "Unsendable": {
            "type": "object",
            "description": "An accepted event that a destination cannot send (X would reject it).",
            "properties": {
                "index": {"type": "integer"},
                "messageId": text,
                "destination": text,
                "reason": text,
            },
        },
        "Rejected": {
            "type": "object",
            "properties": {
                "index": {"type": "integer"},
                "messageId": {"type": ["string", "null"]},
                "field": {"type": ["string", "null"]},
                "error": text,
            },
        },
        "Error": {
            "type": "object",
            "required": ["success", "error"],
            "properties": {"success": {"const": False}, "error": text},
        },
    }
