"""YAML that remembers where things are: every mapping records the line of each key.

Rule-file errors must name the file, the rule and the line; PyYAML's composer knows the line of
every node, so a loader whose mappings keep it lets any later error point back into the file.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml


class LineDict(dict):
    """A dict from YAML that knows its own line (``line``), each key's (``key_lines``) and
    where each value starts (``value_lines``; differs for block scalars and nested nodes)."""

    line: int = 0
    key_lines: dict[str, int]
    value_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings are :class:`LineDict` (1-based line numbers)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML's constructors raise plain ValueError for some values (``2024-02-30`` read
        as a date, ``!!int abc``): those become a YAMLError with the value's line."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value: {exc}", node.start_mark
            ) from exc


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines, out.value_lines = {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):  # e.g. "? [a, b]": what SafeLoader itself refuses
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found an unhashable key",
                key_node.start_mark,
            )  # fmt: skip
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
        start = value_node.start_mark.line + 1
        if isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">"):
            start += 1  # a block scalar's text starts on the line after its indicator
        out.value_lines[key] = start
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> Any:
    """Parse ``path`` safely (no Python tags), mappings as :class:`LineDict`.

    Raises
    ------
    yaml.YAMLError
        The file is not valid YAML (its ``problem_mark`` has the line).
    """
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_LineLoader)


def line_of(data: Any, loc: tuple[int | str, ...], *, value: bool = False) -> int | None:
    """The line of the deepest node on path ``loc`` (a pydantic error location) in ``data``:
    the line of its key, or with ``value`` where its value starts."""
    line = getattr(data, "line", None)
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, LineDict) and part in node:
            lines = node.value_lines if value and i == len(loc) - 1 else node.key_lines
            line = lines.get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            line = getattr(node, "line", line)
        else:
            break
    return line
