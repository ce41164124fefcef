"""A tiny CSV feed of `person` rows, registered for the pipeline and runner tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from riskmap.ingest.batch import RECORD, Batch, Context, FeedReadError, Problem, TableLoad
from riskmap.ingest.registry import register


class PersonCsv:
    """Rows of `person` from a CSV: enough to exercise every path of the pipeline."""

    kind = "test-person-csv"
    description = "test feed"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(b"id,name,phone")

    def parse(self, path: Path, ctx: Context) -> Batch:
        try:
            rows = list(csv.DictReader(path.open(encoding="utf-8")))
        except UnicodeDecodeError as exc:
            raise FeedReadError(f"{path.name}: not UTF-8 text ({exc})") from exc
        if not rows:
            raise FeedReadError(f"{path.name}: empty file")
        good, problems = [], []
        for i, row in enumerate(rows, start=2):
            if not row["name"]:
                problems.append(Problem(f"line {i}", "name", "name is empty", json.dumps(row)))
                continue
            good.append({RECORD: f"line {i}", **row, "dataset_id": "pipeline-test"})
        return Batch(self.kind, [TableLoad("person", pd.DataFrame(good), key=("id",))], problems)


register(PersonCsv())
