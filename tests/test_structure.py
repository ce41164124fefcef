"""The package's shape: riskmap.* import names only, no import cycles, one-way layers.

The expected facts come from the source tree itself (git's file list and Python's own parser),
not from the code under test.
"""

from __future__ import annotations

import ast
import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"geo": "riskmap.geo", "api": "riskmap.api", "ingest": "riskmap.ingest"}
BARE = set(PACKAGES)


def tracked_python() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    paths = [ROOT / line for line in out.splitlines() if not line.startswith("data/")]
    return [p for p in paths if p.exists()]


def module_name(path: Path) -> str | None:
    """The import name of a file under geo/, api/ or ingest/, else None."""
    rel = path.relative_to(ROOT)
    if rel.parts[0] not in PACKAGES:
        return None
    parts = [PACKAGES[rel.parts[0]], *rel.parts[1:]]
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) for every import anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    own = module_name(path)
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                assert own, f"{path}: relative import outside the package"
                base = own.split(".")
                drop = node.level - 1 if is_package else node.level
                base = base[: len(base) - drop]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target, [a.name for a in node.names]


def test_no_bare_package_imports() -> None:
    """A planner's `import api` must never be ours: everything imports riskmap.geo/api/ingest."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {target}"
        for path in tracked_python()
        for line, target, _ in imports(path)
        if target.split(".")[0] in BARE
    ]
    assert offenders == []


def internal_graph() -> dict[str, set[str]]:
    """Module → riskmap modules it imports (a `from pkg import sub` counts as importing sub)."""
    files = {m: p for p in tracked_python() if (m := module_name(p))}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        for _, target, names in imports(path):
            if not target.startswith("riskmap."):
                continue
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in files]
            targets = subs if subs and len(subs) == len(names) else [target, *subs]
            graph[mod].update(t for t in targets if t in files and t != mod)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_known_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    """Every import counts, also those inside functions: they hide a cycle, not break it."""
    graph = internal_graph()
    assert "riskmap.geo.settings" in graph and len(graph) > 50
    assert cycles(graph) == []


def test_layers_point_one_way() -> None:
    """ingest → geo → api: geo imports neither api nor ingest; ingest does not import api."""
    forbidden = {
        "riskmap.geo": ("riskmap.api", "riskmap.ingest"),
        "riskmap.ingest": ("riskmap.api",),
    }
    offenders = [
        f"{src} imports {dst}"
        for src, targets in internal_graph().items()
        for dst in targets
        for layer, banned in forbidden.items()
        if src.startswith(layer + ".") and dst.startswith(banned)
    ]
    assert offenders == []


def test_pyproject_lists_every_package_folder() -> None:
    """The explicit package list (needed for the riskmap.* mapping) misses no folder of the tree."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    listed = set(config["setuptools"]["packages"])
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", *PACKAGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    folders = {str(Path(line).parent) for line in out.splitlines() if (ROOT / line).exists()}
    expected = {
        PACKAGES[f.split("/")[0]] + "".join("." + p for p in f.split("/")[1:]) for f in folders
    }
    assert listed == expected


def test_architecture_page_points_at_real_places() -> None:
    """docs/architecture.md answers the newcomer's questions with paths that exist."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for question in ("the flash-flood rule?", "where CAP XML is written?", "where tiles render?"):
        assert question in text
    paths = re.findall(r"`((?:geo|api|ingest|tests|bench|web|notebooks|data)/[^`\s]*)`", text)
    assert len(paths) > 20
    missing = [p for p in paths if not (list(ROOT.glob(p)) if "*" in p else (ROOT / p).exists())]
    assert missing == []
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/architecture.md" in readme and "../shared/DESIGN.md" not in readme
