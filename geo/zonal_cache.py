"""The zonal weights cache: each grid definition's weights built once, then kept in memory and on
disk.

Building :class:`~riskmap.geo.zonal.ZonalWeights` is the expensive step of zonal statistics, and
its result depends only on the grid definition and the villages' version. So the weights are
kept in memory (an LRU of ``_LRU_SIZE`` entries) and on disk
(``<cache_dir>/zonal/<grid_def_id>-<villages_version>.npz``), and a new grid file costs only the
sparse products of :mod:`riskmap.geo.zonal`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import sparse

from riskmap.geo.zonal import ZonalWeights

log = logging.getLogger("riskmap.zonal")

_LRU_SIZE = 16

_memory: OrderedDict[tuple[str, str], ZonalWeights] = OrderedDict()
_lock = threading.Lock()


def cache_path(cache_dir: Path, grid_def_id: str, villages_version: str) -> Path:
    """Where the weights of a grid definition and a villages version live on disk."""
    return Path(cache_dir) / "zonal" / f"{grid_def_id}-{villages_version}.npz"


def weights_for(
    grid_def_id: str,
    villages_version: str,
    cache_dir: Path | None,
    build: Callable[[], ZonalWeights],
) -> tuple[ZonalWeights, str]:
    """The weights from memory, else disk, else ``build()`` (then stored in both).

    Returns the weights and where they came from ('memory', 'disk' or 'built'), which the
    ingest reports so slow first grids are explained.
    """
    key = (grid_def_id, villages_version)
    with _lock:
        if key in _memory:
            _memory.move_to_end(key)
            return _memory[key], "memory"
    origin = "built"
    weights = None
    path = cache_path(cache_dir, grid_def_id, villages_version) if cache_dir else None
    if path is not None and path.is_file():
        try:
            weights, origin = load_weights(path), "disk"
        except (OSError, ValueError, KeyError) as exc:  # a damaged cache file is rebuilt
            log.warning("zonal cache %s unreadable (%s); rebuilding", path, exc)
    if weights is None:
        weights = build()
        if path is not None:
            try:
                save_weights(weights, path)
            except OSError as exc:  # a cache: the weights serve from memory all the same
                log.warning("zonal cache %s not written (%s)", path, exc)
    with _lock:
        _memory[key] = weights
        while len(_memory) > _LRU_SIZE:
            _memory.popitem(last=False)
    return weights, origin


def clear_memory_cache() -> None:
    """Forget the in-memory weights (tests and benchmarks measure cold paths with it)."""
    with _lock:
        _memory.clear()


def save_weights(weights: ZonalWeights, path: Path) -> None:
    """Write the weights as an .npz (atomically: a temp file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    try:
        with tmp.open("wb") as fh:
            np.savez(
                fh,
                data=weights.matrix.data,
                indices=weights.matrix.indices,
                indptr=weights.matrix.indptr,
                matrix_shape=np.asarray(weights.matrix.shape),
                codes=np.asarray(weights.codes, dtype=str),
                inside=weights.inside,
                grid_shape=np.asarray(weights.shape),
            )
        tmp.replace(path)
    except BaseException:  # a full disk: no partial file left behind
        tmp.unlink(missing_ok=True)
        raise


def load_weights(path: Path) -> ZonalWeights:
    """Read weights written by :func:`save_weights`."""
    with np.load(path, allow_pickle=False) as z:
        matrix = sparse.csr_matrix(
            (z["data"], z["indices"], z["indptr"]), shape=tuple(z["matrix_shape"])
        )
        return ZonalWeights(
            z["codes"].astype(object),
            matrix,
            z["inside"],
            (int(z["grid_shape"][0]), int(z["grid_shape"][1])),
        )
