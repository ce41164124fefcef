"""What a village broadcast terminal (村村响) receives: a JSON document or a GD/J EBM in XML.

Both are built from the outbox payload alone (no database), so a retry sends the same bytes
apart from the send time. EBM identifiers are derived from the warning, version and terminal
rather than numbered, so a re-sent EBD keeps its id (receivers drop it) and an Update or Cancel
can name the EBD it replaces without looking it up.
"""

from __future__ import annotations

import re
import zlib
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from lxml import etree
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from riskmap.api.dispatch.model import Links, Message
from riskmap.geo.vocabulary import BEIJING, COLOURS, Colour

SCHEMA = "riskmap.broadcast/1"
MSG_TYPES = ("Alert", "Update", "Cancel")
VILLAGE_CODE = re.compile(r"^\d{12}$")  # GB/T 2260 county + township + village (12 digits)
# EBMID = sender code + warning id (10 digits) + version (4 digits); our layout, not GD/J's
# (platforms number EBMs as platform id + date + sequence, assigned centrally).
_EBM_ID = re.compile(r"^(?P<sender>.*?)(?P<warning>\d{10})(?P<version>\d{4})$")


class EbmCodesError(ValueError):
    """The EBM code file is missing, not YAML or incomplete."""


class EbmCodes(BaseModel):
    """The EBM code tables (``ebm_codes.yaml``); see that file for why they are placeholders."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ebd_version: str
    ebm_version: str
    language_code: str
    msg_type: dict[Literal["Alert", "Update", "Cancel"], int]
    event_type: dict[str, str]
    default_event_type: str
    severity: dict[Colour, int]
    auxiliary_audio_type: str
    audio_format: Literal["mp3", "wav"]

    @model_validator(mode="after")
    def _complete(self) -> EbmCodes:
        missing = [m for m in MSG_TYPES if m not in self.msg_type]
        missing += [c for c in COLOURS if c not in self.severity]
        if missing:
            raise ValueError(f"codes missing for: {', '.join(missing)}")
        return self

    def event_type_of(self, hazard: str) -> str:
        return self.event_type.get(hazard, self.default_event_type)


def load_ebm_codes(path: Path | None = None) -> EbmCodes:
    """The code tables from ``path`` (the ``ebm_codes_file`` setting) or the packaged file."""
    where = str(path) if path else "riskmap.api.dispatch/ebm_codes.yaml"
    try:
        if path is None:
            text = (resources.files("riskmap.api.dispatch") / "ebm_codes.yaml").read_text("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        return EbmCodes.model_validate(yaml.safe_load(text))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise EbmCodesError(f"EBM code file {where}: {exc}") from None


def broadcast_body(msg: Message, links: Links) -> dict[str, Any]:
    """The ``riskmap.broadcast/1`` document for an http-json (and MQTT) terminal."""
    p = msg.payload
    return {
        "schema": SCHEMA,
        "broadcast_id": msg.id,
        "idempotency_key": msg.idempotency_key,
        "warning_id": msg.warning_id,
        "version": msg.version,
        "cap_identifier": p["cap_identifier"],
        "msg_type": p["msg_type"],
        "status": p["cap_status"],
        "level": p["level"],
        "colour": p["colour"],
        "hazard": p["hazard"],
        "event": p["event_zh"],
        "headline": p["headline_zh"],
        "terminal_id": p["terminal_id"],
        "village_code": p["village_code"],  # the terminal's village
        "village_codes": list(p["villages"]),  # the whole warning area
        "text": p["text"],
        "language": p["language"],
        "repeat": p["repeat"],
        "repeat_interval_s": p["repeat_interval_s"],
        "start": p["effective"],
        "end": p["expires"],
        "links": {
            "cap": links.cap(msg.warning_id, msg.version),
            "audio_wav": links.audio(msg.id, "wav"),
            "audio_mp3": links.audio(msg.id, "mp3"),
            "ack": links.ack(msg.id),
        },
    }


def ebm_time(t: datetime | str) -> str:
    """``2026-07-14 10:00:00``: Beijing time, no offset, as deployed EBM platforms write and
    read times (ISO 8601 date and time with a space; a CAP string with an offset is converted)."""
    at = datetime.fromisoformat(t) if isinstance(t, str) else t
    if at.tzinfo is None:
        raise ValueError(f"time without offset: {t!r}")
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def ebm_id(sender_code: str, warning_id: int, version: int) -> str:
    """One EBM per warning version: every terminal is sent the same message."""
    return f"{sender_code}{warning_id:010d}{version:04d}"


def parse_ebm_id(value: str) -> tuple[int, int] | None:
    """(warning id, version) of an :func:`ebm_id`, None when it is not one of ours."""
    m = _EBM_ID.match(value)
    return (int(m["warning"]), int(m["version"])) if m else None


def ebd_id(sender_code: str, warning_id: int, version: int, terminal_id: str) -> str:
    """One EBD per version and terminal (digits only, as platforms expect)."""
    return ebm_id(sender_code, warning_id, version) + f"{zlib.crc32(terminal_id.encode()):010d}"


def _sub(parent: etree._Element, tag: str, text: str | int | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def ebm_xml(
    msg: Message,
    links: Links,
    codes: EbmCodes,
    *,
    sender_name: str,
    sender_code: str,
    now: datetime | None = None,
) -> bytes:
    """The EBD envelope holding one EBM, UTF-8 XML.

    SRC/URL is where the terminal answers: riskmap's ack URL for this broadcast (GD/J has no
    other place for a reply address). Area codes are one ``AreaCode``, comma-separated.
    """
    p = msg.payload
    terminal = p["terminal_id"]
    areas = list(p["villages"])
    bad = [a for a in areas if not VILLAGE_CODE.match(str(a))]
    if bad or not areas:
        raise ValueError(f"EBM area codes must be 12 digits, got {bad or 'none'}")
    sent = ebm_time(now or datetime.now(BEIJING))

    ebd = etree.Element("EBD")
    _sub(ebd, "EBDVersion", codes.ebd_version)
    _sub(ebd, "EBDID", ebd_id(sender_code, msg.warning_id, msg.version, terminal))
    _sub(ebd, "EBDType", "EBM")
    src = _sub(ebd, "SRC")
    _sub(src, "EBRID", sender_code)
    _sub(src, "URL", links.ack(msg.id))
    _sub(_sub(ebd, "DEST"), "EBRID", terminal)
    _sub(ebd, "EBDTime", sent)
    if p["msg_type"] != "Alert" and msg.version > 1:
        earlier = ebd_id(sender_code, msg.warning_id, msg.version - 1, terminal)
        _sub(_sub(ebd, "RelatedEBD"), "EBDID", earlier)

    ebm = _sub(ebd, "EBM")
    _sub(ebm, "EBMVersion", codes.ebm_version)
    _sub(ebm, "EBMID", ebm_id(sender_code, msg.warning_id, msg.version))
    info = _sub(ebm, "MsgBasicInfo")
    _sub(info, "MsgType", codes.msg_type[p["msg_type"]])
    _sub(info, "SenderName", sender_name)
    _sub(info, "SenderCode", sender_code)
    _sub(info, "SendTime", sent)
    _sub(info, "EventType", codes.event_type_of(p["hazard"]))
    _sub(info, "Severity", codes.severity[p["colour"]])
    _sub(info, "StartTime", ebm_time(p["effective"]))
    _sub(info, "EndTime", ebm_time(p["expires"]))

    content = _sub(ebm, "MsgContent")
    _sub(content, "LanguageCode", codes.language_code)
    _sub(content, "MsgTitle", p["headline_zh"])
    _sub(content, "MsgDesc", p["text"])
    _sub(content, "AreaCode", ",".join(areas))
    aux = _sub(content, "Auxiliary")
    _sub(aux, "AuxiliaryType", codes.auxiliary_audio_type)
    _sub(aux, "AuxiliaryDesc", f"audio.{codes.audio_format}")
    _sub(aux, "URL", links.audio(msg.id, codes.audio_format))
    return etree.tostring(ebd, xml_declaration=True, encoding="UTF-8", pretty_print=True)
