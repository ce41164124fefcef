"""`riskmap receiver`: the reference township 村村响 controller, to deliver broadcasts to.

Binds its own socket so ``--port 0`` works (the kernel picks a free port) and the first line on
stdout names the real address for scripts and tests to read.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from riskmap.api.cli.common import out, settings


def receiver(
    port: Annotated[int, typer.Option(help="port (0: any free port)", min=0, max=65535)] = 8900,
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    keys: Annotated[
        Path | None,
        typer.Option(
            help="JSON key file {key id: base64 secret}, as the terminal key export writes it;"
            " re-read when it changes (default data_dir/receiver/keys.json)"
        ),
    ] = None,
    journal: Annotated[
        Path | None,
        typer.Option(help="SQLite journal (default data_dir/receiver/journal.sqlite)"),
    ] = None,
    mqtt: Annotated[
        str | None,
        typer.Option(help="mqtt://host:port: also take riskmap/broadcast/# (QoS 1)"),
    ] = None,
    ack: Annotated[bool, typer.Option(help="confirm play-out to riskmap (signed)")] = True,
    audio: Annotated[
        bool, typer.Option(help="fetch each broadcast's audio before confirming play-out")
    ] = True,
    ack_delay_s: Annotated[
        float, typer.Option(min=0.0, help="seconds between playing and acking (play time)")
    ] = 0.0,
) -> None:
    """Run a reference broadcast receiver (POST /broadcast/{village code}, GET /journal)."""
    import uvicorn

    from riskmap.api.receiver.app import ReceiverConfig, create_app

    base = settings().data_dir / "receiver"
    config = ReceiverConfig(
        keys_file=keys or base / "keys.json",
        journal_file=journal or base / "journal.sqlite",
        mqtt_url=mqtt,
        ack=ack,
        ack_delay_s=ack_delay_s,
        audio=audio,
    )
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    where = f"[{host}]" if ":" in host else host
    out.print(
        f"receiver: http://{where}:{bound}/  keys {config.keys_file}"
        f"  journal {config.journal_file}",
        soft_wrap=True,
        highlight=False,
    )
    # its own log lines say what it played or refused; a line per request is noise
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="info", access_log=False))
    server.run(sockets=[sock])


if __name__ == "__main__":
    typer.run(receiver)
