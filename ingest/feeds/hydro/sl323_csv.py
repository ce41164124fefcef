"""SL 323 tables as CSV, streamed: a validating pass, then a loading pass, chunk by chunk.

Two passes keep memory bounded by the chunk, not the file, while duplicates across chunks
still resolve as "the last row wins".
"""

from __future__ import annotations

import codecs
import csv
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskmap.ingest.batch import RECORD, Batch, Context, FeedReadError, Problem, TableLoad
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
    """What the validating pass learnt about an SL 323 CSV file."""

    table: Sl323Table
    encoding: str
    sep: str
    problems: list[Problem] = field(default_factory=list)
    dup_counts: dict[int, int] = field(default_factory=dict)  # packed key -> occurrences
    station_index: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    good: int = 0
    valid_from: pd.Timestamp | None = None
    valid_to: pd.Timestamp | None = None


def _chunks(path: Path, scan: CsvScan) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """The CSV in frames of CHUNK_ROWS rows, columns upper case, with their line numbers."""
    header = pd.read_csv(path, encoding=scan.encoding, sep=scan.sep, nrows=0).columns
    names = {c: str(c).strip().lstrip("\ufeff").strip().upper() for c in header}
    upper = list(names.values())
    twice = sorted({u for u in upper if upper.count(u) > 1})
    if twice:
        raise FeedReadError(f"{path.name}: column(s) {twice} appear more than once in the header")
    as_text = {c: str for c, u in names.items() if u not in scan.table.numeric}
    reader = pd.read_csv(
        path,
        encoding=scan.encoding,
        sep=scan.sep,
        dtype=as_text,
        chunksize=CHUNK_ROWS,
        skip_blank_lines=False,
        keep_default_na=False,
        na_values=["", "NULL", "null", "NaN", "nan"],
        skipinitialspace=True,
        engine="c",
        index_col=False,  # a longer first row must not turn column 1 into the index
    )
    first = 2
    while True:
        with warnings.catch_warnings():  # a row longer than the header: pandas only warns
            warnings.simplefilter("error", pd.errors.ParserWarning)
            chunk = next(reader, None)
        if chunk is None:
            break
        chunk = chunk.rename(columns=names)
        lines = np.arange(first, first + len(chunk))
        first += len(chunk)
        blank = chunk.isna().all(axis=1).to_numpy()
        if blank.any():
            chunk, lines = chunk[~blank].reset_index(drop=True), lines[~blank]
        if len(chunk):
            yield chunk.reset_index(drop=True), lines


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


def scan_csv(path: Path, ctx: Context, book: StationBook) -> CsvScan:
    """First pass: identify the table, validate every row, find the duplicated keys.

    Keeps only the problems and one int64 key per good row (for the duplicates), never the
    rows themselves.
    """
    with path.open("rb") as fh:
        head = fh.read(65536)
    line = header_line(head)
    if not line.strip():
        raise FeedReadError(f"{path.name}: empty file (no SL 323 header row)")
    table = identify_table(path, split_header(line))
    sep = "\t" if line.count("\t") > line.count(",") else ","
    encoding = _encoding(head)
    for enc in dict.fromkeys([encoding, "gb18030"]):
        scan = CsvScan(table, enc, sep)
        try:
            _scan_pass(path, ctx, book, scan)
            return scan
        except UnicodeDecodeError:
            book.registered.clear()
            continue
        except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:  # a row too long
            raise FeedReadError(
                f"{path.name}: cannot be read as CSV: a row has more fields than the header ({exc})"
            ) from exc
    raise FeedReadError(f"{path.name}: not UTF-8, UTF-16 or GBK/GB 18030 text")


def _line_count(path: Path) -> int:
    """Lines in the file (an upper bound on its rows), counted in 1 MiB blocks."""
    n = 1
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            n += block.count(b"\n")
    return n


def _scan_pass(path: Path, ctx: Context, book: StationBook, scan: CsvScan) -> None:
    keys = np.empty(_line_count(path), dtype=np.int64)  # one key per good row, no regrowth
    filled = 0
    for raw, lines in _chunks(path, scan):
        scan.rows += len(raw)
        checked = check_frame(scan.table, raw, _labels(lines), book, ctx.now)
        scan.problems.extend(checked.problems)
        scan.good += len(checked.frame)
        if checked.tm is not None and len(checked.tm):
            lo, hi = checked.tm.min(), checked.tm.max()
            scan.valid_from = lo if scan.valid_from is None else min(scan.valid_from, lo)
            scan.valid_to = hi if scan.valid_to is None else max(scan.valid_to, hi)
            chunk_keys = _packed_keys(scan, checked.frame)
            keys[filled : filled + len(chunk_keys)] = chunk_keys
            filled += len(chunk_keys)
    if scan.rows == 0:
        raise FeedReadError(f"{path.name}: no data rows after the header")
    scan.dup_counts = _duplicate_counts(keys[:filled])


def _duplicate_counts(allkeys: np.ndarray) -> dict[int, int]:
    """Keys occurring more than once, with their counts (sorted in place to save memory)."""
    if len(allkeys) < 2:
        return {}
    allkeys.sort()
    same = allkeys[1:] == allkeys[:-1]
    if not same.any():
        return {}
    dupes, counts = np.unique(allkeys[1:][same], return_counts=True)
    return {int(k): int(c) + 1 for k, c in zip(dupes, counts, strict=True)}


def stream_loads(path: Path, ctx: Context, book: StationBook, scan: CsvScan) -> Iterator[TableLoad]:
    """Second pass: the good rows chunk by chunk, for the pipeline to COPY as they come.

    Rows whose key occurs again later in the file are held back and sent last, where they meet
    the later row already stored and count as duplicates (the last row wins).
    """
    key = ("stcd",) if scan.table is STBPRP else ("stcd", "tm")
    seen: dict[int, int] = {}
    held: list[pd.DataFrame] = []
    for raw, lines in _chunks(path, scan):
        checked = check_frame(scan.table, raw, _labels(lines), book, ctx.now, want_problems=False)
        frame = checked.frame
        if frame.empty:
            continue
        if scan.dup_counts:
            superseded = _superseded(scan, frame, seen)
            if superseded.any():
                held.append(frame[superseded])
                frame = frame[~superseded]
        yield table_load(scan.table, _for_copy(frame), key)
    if held:
        yield table_load(scan.table, _for_copy(pd.concat(held, ignore_index=True)), key)


def _for_copy(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as COPY likes it cheapest: times to the second (as SL 323 writes them) and
    without optional columns that are empty in this chunk (fewer values to write)."""
    frame = frame.copy()
    if "tm" in frame:
        frame["tm"] = frame["tm"].dt.floor("s")
    empty = [c for c in frame.columns if c not in (RECORD, "stcd", "tm") and frame[c].isna().all()]
    return frame.drop(columns=empty)


def _superseded(scan: CsvScan, frame: pd.DataFrame, seen: dict[int, int]) -> np.ndarray:
    keys = _packed_keys(scan, frame)
    out = np.zeros(len(frame), dtype=bool)
    for i in np.flatnonzero(np.isin(keys, np.fromiter(scan.dup_counts, dtype=np.int64))):
        k = int(keys[i])
        seen[k] = seen.get(k, 0) + 1
        out[i] = seen[k] < scan.dup_counts[k]
    return out


class _LazyLoads(list):
    """The pipeline iterates ``Batch.loads`` once; this list yields its loads as they are made,
    so only one chunk of a huge file is in memory at a time."""

    def __init__(self, make: Callable[[], Iterator[TableLoad]]) -> None:
        super().__init__()
        self._make = make

    def __iter__(self) -> Iterator[TableLoad]:
        return self._make()


def parse_sl323_csv(path: Path, ctx: Context) -> Batch:
    """Parse an SL 323 CSV export (see the package docstring) in two streaming passes."""
    book = StationBook(ctx.conn)
    scan = scan_csv(path, ctx, book)
    if scan.table is STBPRP:
        # station files are small: read them whole so the dataset row can precede them
        frames = [f.frame for f in _station_frames(path, ctx, scan)]
        stations = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return Batch(KIND_SL323, station_loads(ctx, stations), scan.problems)
    start, end = py_datetime(scan.valid_from), py_datetime(scan.valid_to)
    # the second pass runs in a worker thread, one chunk ahead of the load: it must not use
    # the connection the load is using, and needs not (the first pass looked every code up)
    pass_two = StationBook(None)
    pass_two.known = dict(book.known)
    return Batch(
        KIND_SL323,
        _LazyLoads(lambda: prefetched(stream_loads(path, ctx, pass_two, scan))),
        scan.problems,
        valid_from=start,
        valid_to=end,
        after_load=rain_after_load(start, end) if scan.table is PPTN else None,
        event={"table": scan.table.name},
    )


def _station_frames(path: Path, ctx: Context, scan: CsvScan) -> Iterator[Checked]:
    book = StationBook(ctx.conn)
    for raw, lines in _chunks(path, scan):
        yield check_stations(raw, _labels(lines), book, want_problems=False)
