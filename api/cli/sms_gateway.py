"""`riskmap dev sms-gateway`: a fake SMS gateway on this machine, for development only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskmap.api.cli.common import console


def sms_gateway(
    port: Annotated[int, typer.Option(help="port to listen on")] = 8901,
    host: Annotated[str, typer.Option(help="bind address (keep it on loopback)")] = "127.0.0.1",
    key: Annotated[
        str, typer.Option(help="API key clients send; it also signs the receipts")
    ] = "demo-sms-key",
    log: Annotated[
        Path | None, typer.Option(help="append every accepted message to this JSONL file")
    ] = None,
    receipt_delay_s: Annotated[
        float, typer.Option(help="seconds before a delivery receipt is sent", min=0)
    ] = 1.0,
    undeliverable: Annotated[
        list[str] | None,
        typer.Option(help="a phone whose receipts say UNDELIV (repeat the option for more)"),
    ] = None,
) -> None:
    """Run a FAKE SMS gateway for development and demos: nothing is sent to any phone.

    It accepts POST /sms/send like a commercial gateway, sends signed delivery receipts to the
    callback URL, and can be told to throttle, fail or slow down with POST /control. Point
    riskmap at it with RISKMAP_SMS_GATEWAY_URL=http://HOST:PORT/sms/send and
    RISKMAP_SMS_GATEWAY_KEY=KEY.
    """
    from riskmap.api.devtools.sms_gateway import Behaviour, serve

    behaviour = Behaviour(receipt_delay_s=receipt_delay_s, undeliverable=list(undeliverable or []))
    console.print(f"fake SMS gateway (development only): http://{host}:{port}/sms/send  key={key}")
    serve(host=host, port=port, key=key, behaviour=behaviour, log_path=log)
