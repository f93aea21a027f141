"""`xconduit connect`: connect an X account with the PIN flow, in the terminal.

    xconduit connect --new-key      print a new encryption key for connect.token_key
    xconduit connect                open the printed URL, authorize, type the PIN
    xconduit connect --disconnect   forget the stored token

The token is stored encrypted in the outbox store (see docs/howto/operate.md); `serve`,
`worker` and `check` use it when the configuration has no x.access_token.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from xconduit.cli._common import ConfigOption, settings_or_exit
from xconduit.errors import XconduitError


def register(app: typer.Typer) -> None:
    app.command("connect")(connect_command)


def connect_command(
    config: ConfigOption = None,
    disconnect: Annotated[
        bool, typer.Option("--disconnect", help="Forget the stored token of the X account.")
    ] = False,
    new_key: Annotated[
        bool,
        typer.Option("--new-key", help="Print a new key for connect.token_key and exit."),
    ] = False,
) -> None:
    """Connect an X account (OAuth 1.0a PIN flow) and store its token encrypted."""
    from xconduit.accounts.tokens import NO_KEY, consumer_refused
    from xconduit.accounts.tokens import new_key as make_key

    if new_key:
        typer.echo(make_key())
        typer.echo(
            "Keep it secret; set it as XCONDUIT_CONNECT__TOKEN_KEY (or in a file named by "
            "XCONDUIT_CONNECT__TOKEN_KEY_FILE) for every xconduit process.",
            err=True,
        )
        return
    from xconduit.app import token_vault, x_client
    from xconduit.outbox.open import open_store

    settings = settings_or_exit(config)
    if settings.x.api == "sandbox":
        _fail("x.api is the built-in sandbox, which needs no connection")
    try:
        store = open_store(settings.server.store, busy_timeout=settings.server.busy_timeout)
        vault = token_vault(settings, store)
        if disconnect:
            gone = vault.delete()
            typer.echo("disconnected: the stored token is deleted" if gone else "not connected")
            return
        if not vault.can_store:
            _fail(NO_KEY)
        client = x_client(settings, sandbox=None, vault=vault)
        try:
            pending = client.request_token("oob")
        except XconduitError as exc:
            _fail(consumer_refused(exc))
        typer.echo("Open this URL, sign in to X and authorize the app:")
        typer.echo(f"  {client.authorize_url(pending.token)}")
        pin = typer.prompt("PIN").strip()
        access = client.access_token(pending.token, pending.secret, pin)
        stored = vault.save(access)
    except XconduitError as exc:
        _fail(str(exc))
    typer.echo(
        f"connected as @{stored.screen_name} (user {stored.user_id}); the token is stored "
        "encrypted. Run `xconduit check` to see what it may do."
    )


def _fail(message: str) -> NoReturn:
    typer.echo(f"xconduit connect: {message}", err=True)
    raise typer.Exit(2)
