"""`xconduit sandbox`: run the fake X Ads API on its own, for trying a setup without touching X."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xconduit.cli._common import listen_failure
from xconduit.errors import ConfigError
from xconduit.sandbox import RateLimit, Sandbox, SandboxCredentials, load_seed
from xconduit.sandbox.faults import parse_kind_fault

_DEFAULTS = SandboxCredentials()
PORT = "--port N (or XCONDUIT_SANDBOX_PORT)"


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox_command)


def _opt(
    envvar: str, help_text: str, *, show_default: bool = True, metavar: str | None = None
) -> typer.models.OptionInfo:
    option: typer.models.OptionInfo = typer.Option(
        envvar=envvar,
        help=help_text,
        show_envvar=True,
        show_default=show_default,
        metavar=metavar,
    )
    return option


def _secret(envvar: str, help_text: str) -> typer.models.OptionInfo:
    # The demo defaults are long (cut short in --help); the banner prints them whole.
    text = f"{help_text} Default: the demo value printed at start."
    return _opt(envvar, text, show_default=False)


def sandbox_command(
    host: Annotated[str, _opt("XCONDUIT_SANDBOX_HOST", "Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, _opt("XCONDUIT_SANDBOX_PORT", "Port to listen on (0: any free port).")
    ] = 8090,
    seed: Annotated[
        str | None,
        _opt("XCONDUIT_SANDBOX_SEED", "TOML seed: accounts, pixels, events, users, audiences."),
    ] = None,
    consumer_key: Annotated[
        str, _secret("XCONDUIT_SANDBOX_CONSUMER_KEY", "Consumer (API) key to accept.")
    ] = _DEFAULTS.consumer_key,
    consumer_secret: Annotated[
        str, _secret("XCONDUIT_SANDBOX_CONSUMER_SECRET", "Consumer (API) secret.")
    ] = _DEFAULTS.consumer_secret,
    access_token: Annotated[
        str, _secret("XCONDUIT_SANDBOX_ACCESS_TOKEN", "Access token of the seed's first user.")
    ] = _DEFAULTS.access_token,
    access_token_secret: Annotated[
        str, _secret("XCONDUIT_SANDBOX_ACCESS_TOKEN_SECRET", "Access token secret.")
    ] = _DEFAULTS.access_token_secret,
    rate_limit_window: Annotated[
        float, _opt("XCONDUIT_SANDBOX_RATE_LIMIT_WINDOW", "Conversion rate-limit window, seconds.")
    ] = 900.0,
    rate_limit_events: Annotated[
        int | None,
        _opt(
            "XCONDUIT_SANDBOX_RATE_LIMIT_EVENTS",
            "Conversions per window and account (default 60000 unless only "
            "--rate-limit-requests is given; 0 turns it off).",
        ),
    ] = None,
    rate_limit_requests: Annotated[
        int | None,
        _opt(
            "XCONDUIT_SANDBOX_RATE_LIMIT_REQUESTS",
            "Conversion API requests per window and account (off by default).",
        ),
    ] = None,
    fault: Annotated[
        list[str] | None,
        _opt(
            "XCONDUIT_SANDBOX_FAULT",
            "Inject a fault, repeatable: KIND=FAULT (next request of KIND) or KIND=FAULT@P "
            "(probability P). KIND: conversions, audience_users, audiences, accounts, oauth, *. "
            "FAULT: 500, 503, 503:retry-after=S, 429, 429:reset=S, slow:S, drop, drop:after, "
            "mismatch[:N].",
            metavar="<str>",
        ),
    ] = None,
) -> None:
    """Run the X sandbox: a faithful local fake of the X Ads API (OAuth 1.0a, Conversion API,
    custom audiences, rate limits, faults). Prints its credentials, accounts and URL."""
    from xconduit import serving

    try:
        sandbox = build_sandbox(
            seed=seed,
            credentials=SandboxCredentials(
                consumer_key=consumer_key,
                consumer_secret=consumer_secret,
                access_token=access_token,
                access_token_secret=access_token_secret,
            ),
            rate_limit=rate_limit_from_flags(
                rate_limit_window, rate_limit_events, rate_limit_requests
            ),
            faults=fault or [],
        )
    except (ConfigError, ValueError) as exc:
        typer.echo(f"xconduit sandbox: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        sock = serving.listen(host, port)
    except OSError as exc:
        typer.echo(f"xconduit sandbox: {listen_failure(exc, host, port, choose=PORT)}", err=True)
        raise typer.Exit(2) from None
    typer.echo(banner(sandbox, serving.base_url(sock)))
    serving.server(sandbox.app).run(sockets=[sock])


def rate_limit_from_flags(window: float, events: int | None, requests: int | None) -> RateLimit:
    if events is None:
        events = None if requests is not None else 60_000
    return RateLimit(
        window_seconds=window,
        conversion_events=events or None,
        conversion_requests=requests or None,
    )


def build_sandbox(
    *, seed: str | None, credentials: SandboxCredentials, rate_limit: RateLimit, faults: list[str]
) -> Sandbox:
    sandbox = Sandbox(
        seed=load_seed(Path(seed)) if seed else None,
        credentials=credentials,
        rate_limit=rate_limit,
    )
    for spec in faults:
        text, _, probability = spec.partition("@")
        kind, parsed = parse_kind_fault(text)
        if probability:
            sandbox.faults.set_probability(kind, parsed, float(probability))
        else:
            sandbox.faults.schedule(kind, [parsed])
    return sandbox


def banner(sandbox: Sandbox, url: str) -> str:
    """What `xconduit sandbox` prints at start (demo values only; no customer data)."""
    c = sandbox.credentials
    rl = sandbox.rate_limit
    lines = [
        f"X sandbox (fake X Ads API, API version 12) at {url}",
        "",
        "Credentials (OAuth 1.0a):",
        f"  consumer key         {c.consumer_key}",
        f"  consumer secret      {c.consumer_secret}",
        f"  access token         {c.access_token}",
        f"  access token secret  {c.access_token_secret}",
        "",
    ]
    for account in sandbox.state.accounts.values():
        lines.append(f"Ad account {account.id}  {account.name}")
        for pixel in account.pixels:
            lines.append(f"  pixel {pixel.id}")
            for event in pixel.events:
                label = f"{event.name} ({event.type})" if event.name else event.type
                lines.append(f"    event tw-{pixel.id}-{event.id}  {label}")
        for audience in account.audiences:
            lines.append(f"  audience {audience.id}  {audience.name}")
    for user in sandbox.state.users.values():
        grants = ", ".join(
            f"{acct}: {'+'.join(perms) or '-'}" for acct, perms in user.permissions.items()
        )
        lines.append(f"User {user.id} @{user.screen_name}  {grants}")
    limits = [
        f"{rl.conversion_events} conversions" if rl.conversion_events else "",
        f"{rl.conversion_requests} requests" if rl.conversion_requests else "",
    ]
    shown = " and ".join(x for x in limits if x) or "no limit"
    lines += [
        "",
        f"Conversion API rate limit: {shown} per {rl.window_seconds:g} s per account",
        f"Conversion API: POST {url}/12/measurement/conversions/<pixel_id>",
        f"Three-legged OAuth: {url}/oauth/request_token, /oauth/authorize, /oauth/access_token",
        f"What it received: {url}/_sandbox/",
    ]
    return "\n".join(lines)
