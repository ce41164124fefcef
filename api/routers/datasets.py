"""Provenance of the loaded data, so users can tell real figures from synthetic ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from riskmap.api.deps import Connection
from riskmap.api.responses import file_names
from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.sql")

router = APIRouter(prefix="/api", tags=["metadata"])


class Dataset(BaseModel):
    id: str
    title: str
    synthetic: bool
    source: str
    licence: str | None
    attribution: str | None
    params: dict[str, Any]
    loaded_at: datetime
    villages: int


@router.get("/datasets", response_model=list[Dataset], summary="Loaded datasets and provenance")
def datasets(conn: Connection) -> list[dict[str, Any]]:
    """Every dataset with whether it is synthetic, its source, licence and attribution."""
    rows = conn.execute(SQL("datasets.sql")).fetchall()
    return [r | {"params": file_names(r["params"])} for r in rows]  # no server folders
