"""Folders of YAML documents that list items with ids — the rule files and the plan files —
read one way: every problem becomes the caller's error naming the file, the item and the line.

A file error type takes ``(path, item_id, line, message)`` (:class:`~riskmap.geo.rules.load.
RuleFileError`, :class:`~riskmap.geo.plans.load.PlanFileError`). Site folders override the
built-in items by id; one folder defining an id twice is an error.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from riskmap.geo.rules.yamlload import line_of, load_yaml

M = TypeVar("M", bound=BaseModel)
FileError = Callable[[Path, str | None, int | None, str], Exception]


class HasId(Protocol):
    id: str
    path: Path
    line: int


C = TypeVar("C", bound=HasId)


class ContentCache(Generic[C]):
    """A file's compiled items kept by (path, sha256 of its bytes): a file read again with the
    same bytes gives the items compiled then (parsing YAML with line numbers is slow: the
    built-in rules take ~0.3 s, the plans ~0.15 s, and a rules cycle reads both every hour).
    Items are immutable, so they are shared. The last ``size`` files are kept."""

    def __init__(self, size: int = 64) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, bytes], tuple[C, ...]] = {}
        self._size = size

    def load(self, path: Path, compile_file: Callable[[Path], list[C]]) -> list[C]:
        """``compile_file(path)``, or what it gave for these bytes before."""
        try:
            before = hashlib.sha256(path.read_bytes()).digest()
        except OSError:
            return compile_file(path)  # the loader says what is wrong with it
        key = (str(path), before)
        with self._lock:
            hit = self._items.get(key)
        if hit is not None:
            return list(hit)
        items = compile_file(path)
        try:
            unchanged = hashlib.sha256(path.read_bytes()).digest() == before
        except OSError:
            unchanged = False
        if unchanged:  # kept only when what was compiled is what was hashed
            with self._lock:
                self._items[key] = tuple(items)
                while len(self._items) > self._size:
                    del self._items[next(iter(self._items))]
        return items


def yaml_files(paths: Iterable[Path], error: FileError) -> list[Path]:
    """The ``*.yaml`` / ``*.yml`` files of ``paths`` (folders expanded, sorted by name)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(x for x in p.iterdir() if x.suffix in (".yaml", ".yml") and x.is_file())
        elif p.is_file():
            out.append(p)
        else:
            raise error(p, None, None, "no such file or folder")
    return out


def read_document(path: Path, model: type[M], key: str, error: FileError) -> tuple[Any, M]:
    """The file as line-marked YAML and as ``model``; ``key`` names the list of items (for the
    item id of a validation error)."""
    try:
        raw = load_yaml(path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else _reader_error_line(path, exc)
        raise error(path, None, line, str(exc)) from exc
    except UnicodeDecodeError as exc:
        data = path.read_bytes()  # the error's offset is within a chunk: find it in the file
        try:
            data.decode("utf-8")
            at = exc.start
        except UnicodeDecodeError as whole:
            at = whole.start
        line = data[:at].count(b"\n") + 1
        raise error(path, None, line, f"not UTF-8 text (byte {at})") from exc
    except RecursionError as exc:  # PyYAML composes nested nodes recursively
        raise error(path, None, None, "YAML nested too deeply") from exc
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        where = ".".join(str(x) for x in loc)
        item_id = _item_id_at(raw, key, loc)
        raise error(path, item_id, line_of(raw, loc), f"{where}: {err['msg']}") from exc
    return raw, parsed


def merge_groups(
    groups: Iterable[Path],
    load_file: Callable[[Path], list[C]],
    error: FileError,
    noun: str,
) -> list[C]:
    """Items of each folder or file in order; a later group's item replaces an earlier one with
    the same id; one group defining an id twice is an error."""
    by_id: dict[str, C] = {}
    for group in groups:
        in_group: dict[str, C] = {}
        for f in yaml_files([group], error):
            for item in load_file(f):
                if item.id in in_group:
                    msg = f"{noun} id also defined in {in_group[item.id].path}"
                    raise error(f, item.id, item.line, msg)
                in_group[item.id] = item
        by_id.update(in_group)
    return list(by_id.values())


def _reader_error_line(path: Path, exc: yaml.YAMLError) -> int | None:
    """The line of a character PyYAML's reader refuses (e.g. NUL), which carries no mark."""
    position = getattr(exc, "position", None)
    if position is None:
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    return text.count("\n", 0, position) + 1


def _item_id_at(raw: object, key: str, loc: tuple) -> str | None:
    if len(loc) >= 2 and loc[0] == key and isinstance(loc[1], int):
        try:
            item_id = raw[key][loc[1]].get("id")  # type: ignore[index]
        except (TypeError, KeyError, IndexError, AttributeError):
            return None
        return str(item_id) if item_id is not None else None
    return None
