"""DuckDB SQL that normalises and hashes snapshot identifiers exactly like `xconduit.normalize`.

Most values are plain ASCII: for those, SQL does the work (trim, lowercase, SHA-256) in DuckDB's
vectorised engine, which is what lets a 10-million-row snapshot be hashed in seconds. Any other
value (non-ASCII text, phone numbers, partner ids that need JSON escaping or may hold an email
address or a phone number) goes
to the Python functions of `xconduit.normalize` through a DuckDB function, so both paths give the
same bytes. Each expression yields a JSON string element (`"<sha256>"`) or NULL.
"""

from __future__ import annotations

from typing import Any

import orjson

from xconduit.normalize.audience import AUDIENCE_KEYS, audience_user

UDF = "xc_audience_value"
_SAFE_JSON = r"[ !#-\[\]-~]*"  # printable ASCII without '"' and '\'
_HEX64 = "[0-9a-fA-F]{64}"
_PRINTABLE = "[ -~]*"  # printable ASCII: no control character
_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP = "[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = f"{_ATOM}(\\.{_ATOM})*@({_LABEL}\\.)+{_TOP}"
"""Plain ASCII addresses that `is_email_address` takes (its other addresses, and everything it
refuses, go to Python, which decides): lengths are checked beside it."""
_MAYBE_PERSONAL = r"@|[0-9][0-9 ().\-/]{5,}[0-9]"
"""An `@`, or 7 digits and phone separators in a row: Python decides (`redact.private_id`)."""


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


WHITESPACE = " || ".join(["' '", *(f"chr({n})" for n in (9, 10, 11, 12, 13, 28, 29, 30, 31))])
"""The ASCII characters Python's `str.strip()` removes: on ASCII text, SQL trims like Python."""


def trim_sql(column: str) -> str:
    return f"trim({column}, {WHITESPACE})"


def value_sql(key: str, c: str, t: str, region: str) -> str:
    """The SQL of one identifier from its raw column `c` (VARCHAR) and `c` trimmed (`t`).

    Printable ASCII values (`strlen = length`, no control character once trimmed) take the SQL
    path; others go to Python.
    """
    fallback = f"{UDF}({_lit(key)}, {c}, {_lit(region)})"
    prehashed = f"CASE WHEN length({t}) = 64 THEN regexp_full_match({t}, '{_HEX64}') ELSE false END"
    quoted_hash = "'\"' || {} || '\"'"
    if key == "email":
        fast = (
            f"CASE WHEN {t} = '' THEN NULL WHEN {prehashed} THEN "
            + quoted_hash.format(f"lower({t})")
            + f" WHEN length({t}) <= 254 AND regexp_full_match({t}, {_lit(_EMAIL)})"
            + f" AND length(split_part({t}, '@', 1)) <= 64 THEN "
            + quoted_hash.format(f"sha256(lower({t}))")
            + f" ELSE {fallback} END"
        )
    elif key == "handle":
        bare = f"CASE WHEN starts_with({t}, '@') THEN {trim_sql(f'substr({t}, 2)')} ELSE {t} END"
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
        # In the clear unless it may hold an email address or a phone number (`private_id`).
        plain = (
            f"regexp_full_match({c}, '{_SAFE_JSON}') "
            f"AND NOT regexp_matches({c}, '{_MAYBE_PERSONAL}')"
        )
        return (
            f"CASE WHEN {c} IS NULL THEN NULL WHEN {plain} THEN "
            f"CASE WHEN {t} = '' THEN NULL ELSE '\"' || {t} || '\"' END ELSE {fallback} END"
        )
    else:  # phone_number: phonenumbers only exists in Python
        return f"CASE WHEN {c} IS NULL THEN NULL ELSE {fallback} END"
    return (
        f"CASE WHEN {c} IS NULL THEN NULL WHEN strlen({c}) = length({c}) "
        f"AND regexp_full_match({t}, '{_PRINTABLE}') THEN {fast} ELSE {fallback} END"
    )


def select_sql(columns: dict[str, str], region: str, table: str) -> str:
    """`payload` and, per key, `r_<key>` (raw) and `e_<key>` (element) of every row of `table`.

    `columns` maps X keys to the table's columns. Trimming happens once per value, in the
    innermost query."""
    keys = [k for k in AUDIENCE_KEYS if k in columns]
    inner = ", ".join(
        f"CAST({quote_ident(columns[k])} AS VARCHAR) AS r_{k}, "
        f"{trim_sql(f'CAST({quote_ident(columns[k])} AS VARCHAR)')} AS t_{k}"
        for k in keys
    )
    middle = ", ".join(f"r_{k}, {value_sql(k, f'r_{k}', f't_{k}', region)} AS e_{k}" for k in keys)
    hashed = f"SELECT {middle} FROM (SELECT {inner} FROM {table})"
    if len(keys) == 1:  # the common case, and the cheap one: NULL stays NULL through ||
        (key,) = keys
        payload = f"'{{\"{key}\":[' || e_{key} || ']}}'"
        return f"SELECT {payload} AS payload, * FROM ({hashed})"
    ordered = [k for k in AUDIENCE_KEYS if k in keys]  # X's order, as in Python
    parts = [f"CASE WHEN e_{k} IS NOT NULL THEN '\"{k}\":[' || e_{k} || ']' END" for k in ordered]
    return (
        "SELECT CASE WHEN joined = '' THEN NULL ELSE '{' || joined || '}' END AS payload, * "
        f"FROM (SELECT concat_ws(',', {', '.join(parts)}) AS joined, * FROM ({hashed}))"
    )


def reason_sql(keys: list[str]) -> str:
    """Why a row of `select_sql` has no usable identifier: which keys were not valid."""
    bad = [
        f"CASE WHEN r_{k} IS NOT NULL AND {trim_sql(f'r_{k}')} <> '' AND e_{k} IS NULL "
        f"THEN '{k} not valid' END"
        for k in keys
    ]
    listed = f"concat_ws(', ', {', '.join(bad)})"
    return (
        f"CASE WHEN {listed} = '' THEN 'no identifier (all empty)' "
        f"ELSE 'no usable identifier (' || {listed} || ')' END"
    )
