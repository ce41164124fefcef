"""SL 323 tables as CSV, streamed in one pass: each chunk is checked in a worker thread while
the pipeline loads the one before it.

Memory stays bounded by the chunk (plus one int64 key per good row, to know a row whose
station and time came earlier in the file): that later row replaces the earlier one, which
then counts as the duplicate ("the last row wins"), while rows of earlier ingests are kept.
Station files (ST_STBPRP_B) are small and read in a checking pass first.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

from riskmap.ingest.batch import (
    RECORD,
    AfterLoad,
    Batch,
    Context,
    FeedReadError,
    Problem,
    TableLoad,
)
from riskmap.ingest.feeds.hydro.checks import (
    EARLIEST,
    Checked,
    StationBook,
    check_frame,
    check_stations,
)
from riskmap.ingest.feeds.hydro.loads import rain_after_load, station_loads, table_load
from riskmap.ingest.feeds.hydro.tables import (
    KIND_SL323,
    PPTN,
    STBPRP,
    Sl323Table,
    identify_table,
)
from riskmap.ingest.feeds.hydro.times import py_datetime
from riskmap.ingest.prefetch import prefetched
from riskmap.ingest.tables import prepare

CHUNK_ROWS = 10_000  # CSV rows parsed, validated and loaded at a time (~0.5 KB each)


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def header_line(head: bytes) -> str:
    """The first line of a CSV head, decoded ("" when the head is not text)."""
    enc = _encoding(head)
    try:
        text = codecs.getincrementaldecoder(enc)(errors="strict").decode(head, final=False)
    except UnicodeDecodeError:
        return ""
    return text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""


def split_header(line: str) -> list[str]:
    """Column names of a header line (comma or tab separated), upper case."""
    sep = "\t" if line.count("\t") > line.count(",") else ","
    return [c.strip().strip('"').strip().upper() for c in next(csv.reader([line], delimiter=sep))]


@dataclass
class CsvScan:
    """What reading an SL 323 CSV file has learnt so far."""

    table: Sl323Table
    encoding: str
    sep: str
    problems: list[Problem] = field(default_factory=list)
    station_index: dict[str, int] = field(default_factory=dict)
    rows: int = 0


def _row_blocks(path: Path, encoding: str, rows: int) -> Iterator[tuple[bytes, np.ndarray]]:
    """The data rows in blocks of ``rows`` (header skipped), as bytes in ``_block_encoding``,
    with the line each row starts on.

    We cut the blocks ourselves, at newlines outside quotes, and pandas parses each block whole:
    its chunked reader does not check the first row of a later chunk against the header and
    drops that row's extra fields without a word (issue 19).
    """
    transcode = encoding == "utf-16"  # b"\n" and b'"' are safe to find in UTF-8 and GB 18030
    decoder = codecs.getincrementaldecoder(encoding)() if transcode else None
    pending = b""  # bytes after the last complete row
    line = 1  # the line ``pending`` starts on
    header = True
    ends: list[int] = []  # complete rows' end offsets in ``pending`` (after their newline)
    with path.open("rb") as fh:
        eof = False
        while not eof:
            piece = fh.read(max(1 << 16, rows * 64))  # about a block's bytes: memory follows it
            eof = not piece
            if decoder is not None:
                piece = decoder.decode(piece, final=eof).encode("utf-8")
            base = len(pending)
            pending += piece
            arr = np.frombuffer(pending, dtype=np.uint8)
            newlines = np.flatnonzero(arr[base:] == 10) + base
            quotes = np.flatnonzero(arr == 34)
            closed = newlines[np.searchsorted(quotes, newlines) % 2 == 0] + 1
            ends.extend(closed.tolist())
            if eof and ends[-1:] != [len(pending)] and pending[ends[-1] if ends else 0 :].strip():
                ends.append(len(pending))  # a last row without its newline
            if header and ends:
                line += pending.count(b"\n", 0, ends[0])
                pending, ends, header = pending[ends[0] :], [e - ends[0] for e in ends[1:]], False
            while ends and (len(ends) >= rows or eof):
                cut = ends[min(rows, len(ends)) - 1]
                block, pending = pending[:cut], pending[cut:]
                starts = [0, *ends[: min(rows, len(ends)) - 1]]
                ends = [e - cut for e in ends[min(rows, len(ends)) :]]
                nl = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
                yield block, line + np.searchsorted(nl, np.asarray(starts))
                line += len(nl)


def _block_encoding(encoding: str) -> str:
    return {"utf-16": "utf-8", "utf-8-sig": "utf-8"}.get(encoding, encoding)


def _chunks(path: Path, scan: CsvScan) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """The CSV in frames of CHUNK_ROWS rows, columns upper case, with their line numbers."""
    header = pd.read_csv(path, encoding=scan.encoding, sep=scan.sep, nrows=0).columns
    names = {c: str(c).strip().lstrip("\ufeff").strip().upper() for c in header}
    upper = list(names.values())
    twice = sorted({u for u in upper if upper.count(u) > 1})
    if twice:
        raise FeedReadError(f"{path.name}: column(s) {twice} appear more than once in the header")
    as_text = {u: str for u in upper if u not in scan.table.numeric}
    for block, lines in _row_blocks(path, scan.encoding, CHUNK_ROWS):
        try:
            with warnings.catch_warnings():  # a first row longer than the header: pandas warns
                warnings.simplefilter("error", pd.errors.ParserWarning)
                chunk = pd.read_csv(
                    io.BytesIO(block),
                    encoding=_block_encoding(scan.encoding),
                    sep=scan.sep,
                    header=None,
                    names=upper,
                    dtype=as_text,
                    skip_blank_lines=False,
                    keep_default_na=False,
                    na_values=["", "NULL", "null", "NaN", "nan"],
                    skipinitialspace=True,
                    engine="c",
                    index_col=False,  # a longer first row must not turn column 1 into the index
                )
        except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
            raise FeedReadError(
                f"{path.name}: cannot be read as CSV: {_parse_error(exc, lines)}"
            ) from exc
        if len(chunk) != len(lines):  # rows ended by a lone CR: count them one line each
            lines = np.arange(lines[0], lines[0] + len(chunk))
        blank = chunk.isna().all(axis=1).to_numpy()
        if blank.any():
            chunk, lines = chunk[~blank].reset_index(drop=True), lines[~blank]
        if len(chunk):
            yield chunk, lines


def _parse_error(exc: Exception, lines: np.ndarray) -> str:
    """pandas' complaint about a block, with the file's line number in place of the block's."""
    if isinstance(exc, pd.errors.ParserWarning):  # the block's first row is the long one
        return f"a row has more fields than the header (line {lines[0]})"
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found is None:
        return str(exc).strip()
    want, row, saw = (int(g) for g in found.groups())
    line = lines[row - 1] if 0 < row <= len(lines) else row
    return f"a row has more fields than the header (line {line}: {saw} fields, header {want})"


def _labels(lines: np.ndarray) -> np.ndarray:
    return np.char.add("line ", lines.astype(str)).astype(object)


def _packed_keys(scan: CsvScan, frame: pd.DataFrame) -> np.ndarray:
    """(station, time) of each row as one int64: station index * 2^34 + seconds since 1900."""
    index = scan.station_index
    for code in frame["stcd"].unique():
        index.setdefault(code, len(index))
    st = frame["stcd"].map(index).to_numpy(dtype=np.int64)
    secs = (frame["tm"] - EARLIEST).dt.total_seconds().to_numpy(dtype=np.int64)
    return (st << 34) + secs


def _identify(path: Path) -> tuple[Sl323Table, str, list[str]]:
    """The table, the separator and the encodings to try, from the head of the file."""
    with path.open("rb") as fh:
        head = fh.read(65536)
    line = header_line(head)
    if not line.strip():
        raise FeedReadError(f"{path.name}: empty file (no SL 323 header row)")
    table = identify_table(path, split_header(line))
    sep = "\t" if line.count("\t") > line.count(",") else ","
    return table, sep, list(dict.fromkeys([_encoding(head), "gb18030"]))


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file is text in ``encoding`` (1 MiB blocks, a few ms per 10 MB)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _text_encoding(path: Path, candidates: list[str]) -> str:
    for enc in candidates:
        if _decodes(path, enc):
            return enc
    raise FeedReadError(f"{path.name}: not UTF-8, UTF-16 or GBK/GB 18030 text")


def scan_csv(path: Path, ctx: Context, book: StationBook) -> CsvScan:
    """A checking pass over a station file: its problems (the rows are read again to load)."""
    table, sep, candidates = _identify(path)
    scan = CsvScan(table, _text_encoding(path, candidates), sep)
    for raw, lines in _chunks(path, scan):
        scan.rows += len(raw)
        checked = check_frame(scan.table, raw, _labels(lines), book, ctx.now)
        scan.problems.extend(checked.problems)
    if scan.rows == 0:
        raise FeedReadError(f"{path.name}: no data rows after the header")
    return scan


def _line_count(path: Path) -> int:
    """Lines in the file (an upper bound on its rows), counted in 1 MiB blocks."""
    n = 1
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            n += block.count(b"\n")
    return n


class _SeenKeys:
    """The packed keys of the rows read so far, sorted, in one array sized for the file."""

    def __init__(self, capacity: int) -> None:
        self.keys = np.empty(capacity, dtype=np.int64)
        self.n = 0

    def add(self, keys: np.ndarray) -> np.ndarray:
        """Add a chunk's keys; True for those an earlier chunk already had."""
        seen = self.keys[: self.n]
        earlier = np.zeros(len(keys), dtype=bool)
        if self.n:
            pos = np.minimum(np.searchsorted(seen, keys), self.n - 1)
            earlier = seen[pos] == keys
        self.keys[self.n : self.n + len(keys)] = keys
        self.n += len(keys)
        self.keys[: self.n].sort(kind="stable")  # two sorted runs: one merge
        return earlier


def stream_loads(
    path: Path, ctx: Context, book: StationBook, scan: CsvScan, batch: Batch
) -> Iterator[TableLoad]:
    """Check the file chunk by chunk and hand over the good rows as loads, filling in the
    batch's problems and time range as they are found.

    A row whose station and time an earlier chunk had goes in a load of its own that replaces
    the row this ingest wrote (the last row wins; the earlier one counts as a duplicate).
    """
    key = ("stcd", "tm")
    seen = _SeenKeys(_line_count(path))
    for raw, lines in _chunks(path, scan):
        scan.rows += len(raw)
        checked = check_frame(scan.table, raw, _labels(lines), book, ctx.now)
        batch.problems.extend(checked.problems)
        frame = checked.frame
        if frame.empty:
            continue
        lo, hi = py_datetime(checked.tm.min()), py_datetime(checked.tm.max())
        batch.valid_from = lo if batch.valid_from is None else min(batch.valid_from, lo)
        batch.valid_to = hi if batch.valid_to is None else max(batch.valid_to, hi)
        again = seen.add(_packed_keys(scan, frame))
        frame = _for_copy(frame)
        if again.any():
            yield _prepared(table_load(scan.table, frame[~again], key))
            yield _prepared(table_load(scan.table, frame[again], key, replace_own=True))
        else:
            yield _prepared(table_load(scan.table, frame, key))
    if scan.rows == 0:
        raise FeedReadError(f"{path.name}: no data rows after the header")


def _prepared(load: TableLoad) -> TableLoad:
    """The load with its rows deduplicated and encoded here, in the worker thread, so the
    connection's thread only COPYs and INSERTs (issue 19, station rows)."""
    return replace(load, prepared=prepare(load))


def _for_copy(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as COPY likes it cheapest: times to the second (as SL 323 writes them) and
    without optional columns that are empty in this chunk (fewer values to write)."""
    frame = frame.copy()
    if "tm" in frame:
        frame["tm"] = frame["tm"].dt.floor("s")
    empty = [c for c in frame.columns if c not in (RECORD, "stcd", "tm") and frame[c].isna().all()]
    return frame.drop(columns=empty)


class _LazyLoads(list):
    """The pipeline iterates ``Batch.loads`` once; this list yields its loads as they are made,
    so only one chunk of a huge file is in memory at a time."""

    def __init__(self, make: Callable[[], Iterator[TableLoad]]) -> None:
        super().__init__()
        self._make = make

    def __iter__(self) -> Iterator[TableLoad]:
        return self._make()


def parse_sl323_csv(path: Path, ctx: Context) -> Batch:
    """Parse an SL 323 CSV export (see the package docstring).

    Observation tables are read while they load (the batch's loads check the file chunk by
    chunk, one chunk ahead of the load, in a worker thread): the problems and the time range
    are complete once the loads are, and a file found unreadable part-way raises
    :class:`FeedReadError` from the loads (the pipeline then rejects it and keeps nothing).
    """
    table, sep, candidates = _identify(path)
    if table is STBPRP:
        # station files are small: read them whole so the dataset row can precede them
        scan = scan_csv(path, ctx, StationBook(ctx.conn))
        frames = [f.frame for f in _station_frames(path, ctx, scan)]
        stations = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return Batch(KIND_SL323, station_loads(ctx, stations), scan.problems)
    scan = CsvScan(table, _text_encoding(path, candidates), sep)
    # the worker must not use the connection the load is using: it gets every station now
    book = StationBook.every_station(ctx.conn)
    batch = Batch(KIND_SL323, problems=scan.problems, event={"table": table.name})
    batch.loads = _LazyLoads(lambda: prefetched(stream_loads(path, ctx, book, scan, batch)))
    if table is PPTN:
        batch.after_load = _rain_after_load(batch)
    return batch


def _rain_after_load(batch: Batch) -> AfterLoad:
    """Village gauge rain over the time range the loads found (known only once they ran)."""

    def after_load(conn: psycopg.Connection, ingest_id: int) -> dict[str, int]:
        after = rain_after_load(batch.valid_from, batch.valid_to)
        return after(conn, ingest_id) if after is not None else {}

    return after_load


def _station_frames(path: Path, ctx: Context, scan: CsvScan) -> Iterator[Checked]:
    book = StationBook(ctx.conn)
    for raw, lines in _chunks(path, scan):
        yield check_stations(raw, _labels(lines), book, want_problems=False)
