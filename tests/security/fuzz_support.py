"""Shared parts of the parser fuzz tests (tests/security/test_fuzz_*.py): the example budget,
mutations of real sample files, nasty field values, and the property every parser must keep.

The property (issue 17, "bad input"): whatever bytes a parser is given, it either returns a
Batch whose loads hold only valid records (each bad record a Problem naming its record, field and
reason), or raises the project's own error (:class:`~riskmap.geo.errors.DataError`:
``FeedReadError``, ``GridReadError``, ``RuleFileError``) whose message names the file. Any other
exception (KeyError, ValueError, OverflowError, UnicodeDecodeError, lxml errors …) or a hang is
a bug in the parser.

Budget: ``RISKMAP_FUZZ_EXAMPLES`` examples per property (default 30, a CI run of all the fuzz
files stays well under a minute on two cores); ``make soak`` sets it high. Without the variable
the examples are derandomised, so CI sees the same inputs every run; with it each run draws new
ones.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from riskmap.geo.errors import DataError
from riskmap.ingest.batch import RECORD, Batch, Problem

_ENV = os.environ.get("RISKMAP_FUZZ_EXAMPLES")
EXAMPLES = max(1, int(_ENV)) if _ENV else 30
SOAK = _ENV is not None
HANG_SECONDS = 30  # one parse of a small file taking longer than this is a hang


def fuzz_settings(share: float = 1.0) -> settings:
    """Settings of one property: ``share`` of the example budget (cheap parsers get more)."""
    return settings(
        max_examples=max(3, round(EXAMPLES * share)),
        deadline=None,
        database=None,
        derandomize=not SOAK,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
        print_blob=True,
    )


# -- nasty values --------------------------------------------------------------------------------

#: Field values that break naive parsers: empty, NaN/inf, huge and sentinel numbers, times at the
#: ends of the calendar (a naive year-1 time shifted from UTC+8 overflows), odd text and bytes.
NASTY_TEXT = (
    "",
    " ",
    "NaN",
    "nan",
    "-nan",
    "inf",
    "-Infinity",
    "1e309",
    "-1e309",
    "1e-320",
    "99999",
    "-999999",
    "9999.0",
    "-9999.9",
    "0",
    "-0",
    "-1",
    "18446744073709551616",
    "9" * 40,
    "0x1A",
    "1,5",
    "１２３",
    "三",
    "null",
    "None",
    "true",
    "[]",
    "{}",
    "'",
    '"',
    "\\",
    "<",
    "&amp;",
    "&#0;",
    "\t",
    "\u200b",
    "\ufeff",
    "\ud7ff",
    "测站名称",
    "Ω≈ç√",
    "0001-01-01T00:00:00",
    "0001-01-01 00:00:00",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "9999-12-31 23:59:59",
    "2024-02-30 25:61:61",
    "2024-13-01T00:00:00Z",
    "1900-01-01 00:00:00",
    "1899-12-31 23:59:59",
    "2099-01-01 00:00:00",
    "20240701",
    "202407010800",
    "99999999999999",
    "T",
    "Z",
    "+08:00",
    "1,2",
    "91,181",
    "-90.0000001,180.0000001",
    "0,0 0,0 0,0",
    "1,1 1,2 2,2 1,1",
    "27.5,109.5 27.6,109.6",
    "27.5,109.5 1e309",
    "a" * 300,
)
#: JSON values of every type, for structured records.
NASTY_JSON: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    2**63,
    -(2**70),
    1e308,
    -1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    0.5,
    "",
    "abc",
    [],
    [1, 2],
    [[1, 2]],
    {},
    {"type": "Point"},
    {"a": [None]},
    *NASTY_TEXT[:12],
    *NASTY_TEXT[38:52],
)

nasty_text = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
nasty_json = st.one_of(
    st.sampled_from(NASTY_JSON).map(copy.deepcopy),  # mutations change values in place
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.text(max_size=8),
)


# -- mutating real files ----------------------------------------------------------------------


class Samples(list):
    """Sample files' contents; shown by count only when Hypothesis prints a failing case."""

    def __repr__(self) -> str:
        return f"<{len(self)} samples>"


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


@st.composite
def _one_mutation(draw: st.DrawFn, data: bytes, *, delimiter: bytes | None) -> bytes:
    """``data`` with one mutation: byte flips, truncation, lines or fields deleted, duplicated or
    replaced, random bytes inserted, or the whole text re-encoded."""
    kinds = ["flip", "truncate", "del_line", "dup_line", "swap_lines", "insert", "reencode"]
    if delimiter is not None:
        kinds += ["field", "field", "del_field", "dup_field"]
    kind = draw(st.sampled_from(kinds))
    n = len(data)
    if not n:
        return draw(st.binary(max_size=16))
    if kind == "flip":
        i = draw(st.integers(0, n - 1))
        return data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]
    if kind == "truncate":
        return data[: draw(st.integers(0, n))]
    if kind == "insert":
        i = draw(st.integers(0, n))
        return data[:i] + draw(st.binary(min_size=1, max_size=16)) + data[i:]
    if kind == "reencode":
        text = data.decode("utf-8", errors="replace")
        enc = draw(st.sampled_from(["gbk", "gb18030", "utf-16", "utf-16-le", "latin-1", "big5"]))
        return text.encode(enc, errors="replace")
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    if kind == "del_line":
        return b"\n".join(lines[:i] + lines[i + 1 :])
    if kind == "dup_line":
        return b"\n".join(lines[: i + 1] + [lines[i]] * draw(st.integers(1, 3)) + lines[i + 1 :])
    if kind == "swap_lines":
        j = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines)
    assert delimiter is not None
    fields = lines[i].split(delimiter)
    k = draw(st.integers(0, len(fields) - 1))
    if kind == "field":
        value = draw(nasty_text).encode("utf-8", errors="replace")
        fields[k] = value
    elif kind == "del_field":
        del fields[k]
    else:
        fields.insert(k, fields[k])
    lines[i] = delimiter.join(fields)
    return b"\n".join(lines)


@st.composite
def mutated(
    draw: st.DrawFn, samples: list[bytes], *, delimiter: bytes | None = None, most: int = 3
) -> bytes:
    """One of ``samples`` with 1…``most`` mutations (see :func:`_one_mutation`)."""
    data = draw(st.sampled_from(samples))
    for _ in range(draw(st.integers(1, most))):
        data = draw(_one_mutation(data, delimiter=delimiter))
    return data


@st.composite
def xml_mutated(draw: st.DrawFn, samples: list[bytes], most: int = 3) -> bytes:
    """An XML sample with element-level damage: a text value replaced by a nasty one (escaped or
    raw), an element deleted or duplicated, or a byte-level mutation."""
    data = draw(st.sampled_from(samples))
    for _ in range(draw(st.integers(1, most))):
        text = data.decode("utf-8", errors="replace")
        simple = list(re.finditer(r"<([\w:.-]+)(\s[^<>]*)?>([^<]*)</\1>", text))
        kind = draw(st.sampled_from(["value", "value", "drop", "dup", "bytes"]))
        if kind == "bytes" or not simple:
            data = draw(_one_mutation(data, delimiter=None))
            continue
        m = draw(st.sampled_from(simple))
        if kind == "value":
            value = draw(nasty_text)
            if draw(st.booleans()):
                value = value.replace("&", "&amp;").replace("<", "&lt;")
            new = f"<{m[1]}{m[2] or ''}>{value}</{m[1]}>"
        elif kind == "drop":
            new = ""
        else:
            new = m[0] * 2
        data = (text[: m.start()] + new + text[m.end() :]).encode("utf-8", errors="replace")
    return data


@st.composite
def json_mutated(draw: st.DrawFn, docs: list[Any], most: int = 3) -> Any:
    """A parsed JSON sample with values replaced by nasty ones, keys deleted, list items
    duplicated or deleted, at random paths."""
    doc = json.loads(json.dumps(draw(st.sampled_from(docs))))
    for _ in range(draw(st.integers(1, most))):
        doc = _mutate_json(draw, doc, depth=0)
    return doc


def _mutate_json(draw: st.DrawFn, node: Any, depth: int) -> Any:
    descend = isinstance(node, (dict, list)) and node and depth < 8 and draw(st.integers(0, 4))
    if not descend:
        return draw(nasty_json)
    if isinstance(node, dict):
        key = draw(st.sampled_from(sorted(node, key=str)))
        action = draw(st.sampled_from(["into", "into", "into", "delete", "rename"]))
        if action == "delete":
            del node[key]
        elif action == "rename":
            node[draw(st.text(max_size=6))] = node.pop(key)
        else:
            node[key] = _mutate_json(draw, node[key], depth + 1)
        return node
    i = draw(st.integers(0, len(node) - 1))
    action = draw(st.sampled_from(["into", "into", "delete", "dup"]))
    if action == "delete":
        del node[i]
    elif action == "dup":
        node.insert(i, json.loads(json.dumps(node[i])))
    else:
        node[i] = _mutate_json(draw, node[i], depth + 1)
    return node


def dump_json(doc: Any) -> bytes:
    """JSON as an exporter might write it (NaN and Infinity left in, as Python writes them)."""
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


# -- the property -----------------------------------------------------------------------------

RECORD_LABEL = re.compile(
    r"^(?:[A-Z_]+ )?(line|entry|feature|event|alert|record|band|time step|lead|grid|"
    r"ST_\w+ entry)\b"
)


@contextmanager
def no_hang(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Fail (not wait forever) when the block takes longer than ``seconds``.

    Uses the real-time timer that pytest-timeout also uses; its remaining time is restored
    afterwards, so the suite's own timeout keeps working."""

    def alarm(_signum, _frame):
        raise AssertionError(f"parser hung: no answer within {seconds} s")

    started = time.monotonic()
    old_handler = signal.signal(signal.SIGALRM, alarm)
    outer, interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    if outer and outer < seconds:
        signal.setitimer(signal.ITIMER_REAL, outer)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if outer:
            left = max(outer - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, interval)


def outcome(parse: Callable[[], Batch], path: Path) -> Batch | None:
    """Run ``parse``: the Batch, or None when it refused the file with the project's own error
    naming the file. Any other exception propagates, so Hypothesis reports it as a bug."""
    try:
        with no_hang():
            batch = parse()
    except DataError as exc:
        message = str(exc)
        assert path.name in message, f"error does not name the file {path.name}: {message}"
        assert len(message) > len(path.name) + 5, f"error gives no reason: {message}"
        event("refused with the file's error")
        return None
    assert isinstance(batch, Batch)
    event("parsed, with quarantined records" if batch.problems else "parsed, nothing quarantined")
    for p in batch.problems:
        check_problem(p)
    return batch


def check_problem(p: Problem) -> None:
    """A quarantined record names its record and gives a reason (and the field, when the record
    itself was readable)."""
    assert isinstance(p, Problem), p
    assert p.record and RECORD_LABEL.match(p.record), f"problem names no record: {p}"
    assert p.reason and p.reason.strip(), f"problem gives no reason: {p}"
    whole = re.search(r"not a|not loaded|no |Atom entry|not sender", p.reason)
    assert p.field or whole, f"problem names no field: {p}"


def frames(batch: Batch, table: str | None = None) -> list[pd.DataFrame]:
    """The frames ``batch`` would load (all tables, or only ``table``)."""
    return [ld.frame for ld in batch.loads if table is None or ld.table == table]


def rows(batch: Batch, table: str) -> list[dict]:
    """Every row ``batch`` would load into ``table``."""
    out: list[dict] = []
    for frame in frames(batch, table):
        out += frame.to_dict("records")
    return out


def labels(batch: Batch, table: str) -> set[str]:
    """The record labels of the rows ``batch`` would load into ``table``."""
    return {str(r[RECORD]) for r in rows(batch, table) if RECORD in r}


def finite(value: Any) -> bool:
    """A real, finite number (not None, NaN, inf or a bool)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def missing(value: Any) -> bool:
    """None or NaN/NaT (how a frame holds an empty cell)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
