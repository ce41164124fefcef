"""Reading what reaches a township controller: its key file and the two message formats.

Parsing happens only after the signature is checked, so everything here reads bytes riskmap
signed; the XML parser is hardened all the same (no DTD, entities or network).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from functools import cache
from pathlib import Path

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from riskmap.api.dispatch.adapters.render import SCHEMA, load_ebm_codes, parse_ebm_id
from riskmap.api.receiver.journal import Incoming

log = logging.getLogger("riskmap.receiver")
_ACK_URL = re.compile(r"/broadcasts/(\d+)/ack$")


class BadMessageError(ValueError):
    """Signed, but not a broadcast this controller can play."""


class KeyFile:
    """``{key id: base64 secret}`` as ``riskmap`` exports it, read again whenever the file
    changes, so a key rotation needs no restart. A broken file keeps the keys last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, bytes] = {}

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._keys = None, {}
            return
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return
        try:
            raw = json.loads(self.path.read_bytes())
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in raw.items()}
        except (OSError, ValueError, AttributeError, TypeError, binascii.Error) as exc:
            n = len(self._keys)
            log.error("key file %s unreadable, keeping %d keys: %s", self.path, n, exc)
            return
        self._stamp, self._keys = stamp, keys
        log.info("key file %s: %d keys", self.path, len(keys))

    def lookup(self, key_id: str) -> list[bytes]:
        """The secret of ``key_id`` (for ``signing.verify``), empty when unknown or retired."""
        self._refresh()
        secret = self._keys.get(key_id)
        return [secret] if secret else []

    def signing_key(self, key_id: str, terminal_id: str) -> tuple[str, bytes] | None:
        """``key_id`` if still held, else the terminal's newest key (rotated meanwhile)."""
        self._refresh()
        if key_id in self._keys:
            return key_id, self._keys[key_id]
        prefix = f"{terminal_id}:v"
        mine = [k for k in self._keys if k.startswith(prefix) and k[len(prefix) :].isdigit()]
        if not mine:
            return None
        newest = max(mine, key=lambda k: int(k[len(prefix) :]))
        return newest, self._keys[newest]


class _Broadcast(BaseModel):
    """The fields of a ``riskmap.broadcast/1`` document a controller needs."""

    model_config = ConfigDict(extra="ignore")

    schema_: str = Field(alias="schema", pattern=f"^{re.escape(SCHEMA)}$")
    broadcast_id: int = Field(ge=1)
    idempotency_key: str = Field(min_length=1, max_length=200)
    warning_id: int
    version: int = Field(ge=1)
    msg_type: str = Field(pattern="^(Alert|Update|Cancel)$")
    terminal_id: str = Field(min_length=1, max_length=100)
    village_code: str = Field(pattern=r"^\d{12}$")
    text: str
    links: dict[str, str]


def from_json(body: bytes, key_id: str, protocol: str) -> Incoming:
    """A JSON broadcast (over HTTP or inside an MQTT envelope)."""
    try:
        doc = _Broadcast.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise BadMessageError(f"not a {SCHEMA} document: {exc}"[:400]) from None
    return Incoming(
        key=doc.idempotency_key,
        idempotency_key=doc.idempotency_key,
        broadcast_id=doc.broadcast_id,
        warning_id=doc.warning_id,
        version=doc.version,
        msg_type=doc.msg_type,
        village_code=doc.village_code,
        terminal_id=doc.terminal_id,
        protocol=protocol,
        key_id=key_id,
        text=doc.text,
        ack_url=doc.links.get("ack"),
    )


_PARSER = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)


@cache
def _cancel_code() -> str:
    return str(load_ebm_codes().msg_type["Cancel"])


def from_ebm(body: bytes, key_id: str, idempotency_key: str | None, village_code: str) -> Incoming:
    """An EBD holding an EBM. Its signed EBDID is the message's identity (one per warning
    version and terminal), so a replay under a new Idempotency-Key is still a repeat; the
    header only names the message in the ack. The ack goes to SRC/URL, whose path holds the
    broadcast id; warning and version come from the EBMID (render.ebm_id)."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise BadMessageError(f"not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise BadMessageError("a DOCTYPE is not allowed")

    def text(path: str) -> str:
        value = root.findtext(path)
        if not value or not value.strip():
            raise BadMessageError(f"EBD lacks {path}")
        return value.strip()

    if root.tag != "EBD" or text("EBDType") != "EBM":
        raise BadMessageError("not an EBD of type EBM")
    ids = parse_ebm_id(text("EBM/EBMID"))
    ack_url = text("SRC/URL")
    m = _ACK_URL.search(ack_url)
    if ids is None or m is None:
        raise BadMessageError("EBMID or SRC/URL is not riskmap's: no warning or broadcast id")
    areas = text("EBM/MsgContent/AreaCode").split(",")
    if village_code not in areas:
        raise BadMessageError(f"village {village_code} is not in the EBM's AreaCode")
    if not idempotency_key:
        raise BadMessageError("Idempotency-Key header is required")
    cancel = text("EBM/MsgBasicInfo/MsgType") == _cancel_code()
    related = root.find("RelatedEBD") is not None
    return Incoming(
        key="ebd:" + text("EBDID"),
        idempotency_key=idempotency_key,
        broadcast_id=int(m[1]),
        warning_id=ids[0],
        version=ids[1],
        msg_type="Cancel" if cancel else "Update" if related else "Alert",
        village_code=village_code,
        terminal_id=text("DEST/EBRID"),
        protocol="ebm-xml",
        key_id=key_id,
        text=text("EBM/MsgContent/MsgDesc"),
        ack_url=ack_url,
    )
