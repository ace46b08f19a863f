"""`voxpop inbox [read|delete]`: messages to the owner (a device's "email" skill, the agent),
sealed to the owner's directory key; read with proofs and opened here."""

from __future__ import annotations

from typing import Any

import typer

from voxpop.cli.options import with_options
from voxpop.cli.output import console, emit
from voxpop.cli.owner import (
    GasOption,
    KeyOption,
    OwnerReadOptions,
    OwnerTxOptions,
    owner_session,
    send,
)
from voxpop.client.devices import InboxItem

inbox_app = typer.Typer(no_args_is_help=True, help="Your inbox: messages from your agents.")


def item_row(item: InboxItem) -> dict[str, Any]:
    text: str | None = None
    if item.plaintext is not None:
        text = item.plaintext.decode("utf-8", errors="replace")
    return {
        "id": item.message_id,
        "posted_at": item.message.posted_at,
        "expires_at": item.message.expires_at,
        "text": text,
        "readable": item.plaintext is not None,
    }


@inbox_app.command("read")
@with_options(OwnerReadOptions)
def read(key: str = KeyOption, *, opts: OwnerReadOptions) -> None:
    """Every message in your inbox, proven complete, opened with your key."""
    with owner_session(key, opts) as (_, flows):
        rows = [item_row(i) for i in flows.inbox()]

    def render(_: Any) -> None:
        if not rows:
            console.print("(no messages)")
        for row in rows:
            console.print(f"[bold]#{row['id']}[/] posted {row['posted_at']}")
            console.print(row["text"] if row["readable"] else "(not sealed to your keys)")

    emit({"messages": rows, "verified": True}, opts.output, render)


@inbox_app.command("delete")
@with_options(OwnerTxOptions)
def delete(
    ids: list[int] = typer.Argument(..., metavar="ID...", help="the messages to delete"),
    key: str = KeyOption,
    gas: int | None = GasOption,
    *,
    opts: OwnerTxOptions,
) -> None:
    """Delete messages from your inbox."""
    with owner_session(key, opts) as (signer, flows):
        msg = flows.delete_inbox_msg(ids)
        shown = ", ".join(str(i) for i in ids)
        send(signer, [msg], opts, gas, extra={"deleted": list(ids)}, rows={"deleted": shown})
