"""DuckDB SQL that normalises and hashes snapshot identifiers exactly like `xconduit.normalize`.

Most values are plain ASCII: for those, SQL does the work (trim, lowercase, SHA-256) in DuckDB's
vectorised engine, which is what lets a 10-million-row snapshot be hashed in seconds. Any other
value (non-ASCII, control characters, phone numbers, partner ids that need JSON escaping) goes
to the Python functions of `xconduit.normalize` through a DuckDB function, so both paths give the
same bytes. Each expression yields a JSON string element (`"<sha256>"`) or NULL.
"""

from __future__ import annotations

from typing import Any

import orjson

from xconduit.normalize.audience import AUDIENCE_KEYS, audience_user

UDF = "xc_audience_value"
_PRINTABLE = "[ -~]*"
_SAFE_JSON = r"[ !#-\[\]-~]*"  # printable ASCII without '"' and '\'
_HEX64 = "[0-9a-fA-F]{64}"


def python_value(key: str, value: str | None, region: str) -> str | None:
    """The Python path: one value as a JSON string element, or None when it is not usable."""
    if value is None:
        return None
    user = audience_user({key: value}, region=region, keys=(key,))
    values = user.payload().get(key)
    return orjson.dumps(values[0]).decode() if values else None


def register(con: Any) -> None:
    """Make the Python path callable from SQL as `xc_audience_value(key, value, region)`."""
    from duckdb.sqltypes import VARCHAR

    con.create_function(
        UDF, python_value, [VARCHAR, VARCHAR, VARCHAR], VARCHAR, null_handling="special"
    )


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def value_sql(key: str, column: str, region: str) -> str:
    """The SQL of one identifier (column already cast to VARCHAR)."""
    c = column
    t = f"trim({c}, ' ')"
    fallback = f"{UDF}({_lit(key)}, {c}, {_lit(region)})"
    prehashed = f"(length({t}) = 64 AND regexp_full_match({t}, '{_HEX64}'))"
    quoted_hash = "'\"' || {} || '\"'"
    if key == "email":
        fast = (
            f"CASE WHEN {t} = '' THEN NULL WHEN {prehashed} THEN "
            + quoted_hash.format(f"lower({t})")
            + f" WHEN contains({t}, '@') THEN "
            + quoted_hash.format(f"sha256(lower({t}))")
            + " ELSE NULL END"
        )
    elif key == "handle":
        bare = f"CASE WHEN starts_with({t}, '@') THEN trim(substr({t}, 2), ' ') ELSE {t} END"
        fast = (
            f"CASE WHEN {t} = '' THEN NULL WHEN {prehashed} THEN "
            + quoted_hash.format(f"lower({t})")
            + f" WHEN starts_with({t}, '@') AND starts_with({bare}, '@') THEN NULL"
            + f" WHEN {bare} = '' THEN NULL ELSE "
            + quoted_hash.format(f"sha256(lower({bare}))")
            + " END"
        )
    elif key == "twitter_id":
        fast = (
            f"CASE WHEN {t} = '' THEN NULL WHEN {prehashed} THEN "
            + quoted_hash.format(f"lower({t})")
            + f" WHEN regexp_full_match({t}, '[0-9]+') THEN "
            + quoted_hash.format(f"sha256({t})")
            + " ELSE NULL END"
        )
    elif key == "device_id":
        fast = (
            f"CASE WHEN {t} = '' THEN NULL WHEN {prehashed} THEN "
            + quoted_hash.format(f"lower({t})")
            + " ELSE "
            + quoted_hash.format(f"sha256(lower({t}))")
            + " END"
        )
    elif key == "partner_user_id":
        return (
            f"CASE WHEN {c} IS NULL THEN NULL WHEN regexp_full_match({c}, '{_SAFE_JSON}') THEN "
            f"CASE WHEN {t} = '' THEN NULL ELSE '\"' || {t} || '\"' END ELSE {fallback} END"
        )
    else:  # phone_number: phonenumbers only exists in Python
        return f"CASE WHEN {c} IS NULL THEN NULL ELSE {fallback} END"
    return (
        f"CASE WHEN {c} IS NULL THEN NULL WHEN regexp_full_match({c}, '{_PRINTABLE}') "
        f"THEN {fast} ELSE {fallback} END"
    )


def payload_sql(values: dict[str, str]) -> str:
    """X's user object as compact JSON from per-key element expressions, NULL when empty."""
    ordered = [(k, values[k]) for k in AUDIENCE_KEYS if k in values]  # X's order, as in Python
    parts = [f"CASE WHEN {v} IS NOT NULL THEN '\"{k}\":[' || {v} || ']' END" for k, v in ordered]
    joined = f"concat_ws(',', {', '.join(parts)})"
    return f"CASE WHEN {joined} = '' THEN NULL ELSE '{{' || {joined} || '}}' END"


def reason_sql(raw: dict[str, str], values: dict[str, str]) -> str:
    """Why a row has no usable identifier (for the rejected count): which keys were invalid."""
    bad = [
        f"CASE WHEN {raw[k]} IS NOT NULL AND trim({raw[k]}) <> '' AND {values[k]} IS NULL "
        f"THEN '{k} not valid' END"
        for k in values
    ]
    listed = f"concat_ws(', ', {', '.join(bad)})"
    return (
        f"CASE WHEN {listed} = '' THEN 'no identifier (all empty)' "
        f"ELSE 'no usable identifier (' || {listed} || ')' END"
    )
