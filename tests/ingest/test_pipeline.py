"""The shared pipeline, driven by a tiny CSV feed defined here, against real PostGIS."""

from __future__ import annotations

import json
import select
from pathlib import Path

import psycopg
import pytest

from riskmap.ingest.pipeline import ingest_file
from tests.ingest.person_feed import PersonCsv

assert PersonCsv.kind == "test-person-csv"  # importing registers the feed


@pytest.fixture
def db(db_url: str):
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO dataset (id, title, synthetic, source) VALUES"
            " ('pipeline-test', 't', true, 'tests') ON CONFLICT DO NOTHING"
        )
        conn.commit()
        yield conn
        conn.rollback()
        conn.execute("DELETE FROM dataset WHERE id = 'pipeline-test'")
        conn.execute("DELETE FROM ingest_log WHERE kind = 'test-person-csv'")
        conn.commit()


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_rows_load_bad_rows_are_quarantined(db, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "people.csv",
        "id,name,phone\npt1,张三,13800000001\npt2,,13800000002\npt3,李四,12345\npt4,王五,13800000004\n",
    )
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.status == "partial" and s.loaded == {"person": 2}
    reasons = {p.record: p for p in s.problems}
    assert reasons["line 3"].field == "name"  # caught by the parser
    assert reasons["line 4"].field == "person_phone_check"  # caught by the database
    assert "check constraint" in reasons["line 4"].reason
    stored = db.execute(
        "SELECT record, field, reason FROM quarantine WHERE ingest_id = %s ORDER BY record",
        (s.ingest_id,),
    ).fetchall()
    assert [r[0] for r in stored] == ["line 3", "line 4"]
    ids = [r[0] for r in db.execute("SELECT id FROM person WHERE id LIKE 'pt%' ORDER BY id")]
    assert ids == ["pt1", "pt4"]


def test_same_content_twice_changes_nothing(db, tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "id,name,phone\npt5,赵六,13800000005\n")
    first = ingest_file(db, path, data_dir=tmp_path)
    logs = db.execute("SELECT count(*) FROM ingest_log").fetchone()[0]
    second = ingest_file(db, path, data_dir=tmp_path)
    assert first.status == "loaded" and second.status == "duplicate"
    assert second.ingest_id == first.ingest_id
    assert db.execute("SELECT count(*) FROM ingest_log").fetchone()[0] == logs
    # the same rows in a different file are counted as duplicates, not loaded again
    other = write(tmp_path, "p2.csv", "id,name,phone\npt5,赵六,13800000005\n\n")
    third = ingest_file(db, other, data_dir=tmp_path)
    assert third.loaded == {"person": 0} and third.duplicates == 1


def test_unreadable_file_is_rejected_whole(db, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"id,name,phone\n\xff\xfe\xfa broken")
    s = ingest_file(db, path, data_dir=tmp_path, kind="test-person-csv")
    assert s.status == "rejected" and "not UTF-8" in s.message and "bad.csv" in s.message
    status = db.execute("SELECT status FROM ingest_log WHERE id = %s", (s.ingest_id,)).fetchone()
    assert status == ("rejected",)
    assert db.execute("SELECT count(*) FROM person WHERE id LIKE 'pt%'").fetchone()[0] == 0


def test_unknown_kind_of_file_is_rejected_with_the_kinds_tried(db, tmp_path: Path) -> None:
    path = write(tmp_path, "what.txt", "nothing anyone recognises\n")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.status == "rejected" and "--kind" in s.message


def test_every_ingest_notifies_listeners(db, db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute("LISTEN riskmap_events")
        path = write(tmp_path, "n.csv", "id,name,phone\npt9,钱七,13800000009\n")
        s = ingest_file(db, path, data_dir=tmp_path)
        ready, _, _ = select.select([listener.fileno()], [], [], 5)
        assert ready, "no notification within 5 s"
        note = next(listener.notifies(timeout=1, stop_after=1))
    payload = json.loads(note.payload)
    assert payload["type"] == "ingest" and payload["ingest_id"] == s.ingest_id
    assert payload["rows"] == {"person": 1}


def test_work_joins_a_transaction_the_caller_has_open(db, tmp_path: Path) -> None:
    db.execute("SELECT 1")  # the caller is inside a transaction
    path = write(tmp_path, "t.csv", "id,name,phone\npt7,周九,13800000007\n")
    s = ingest_file(db, path, data_dir=tmp_path)
    assert s.status == "loaded"
    db.rollback()  # the caller changes its mind: nothing of the ingest remains
    assert db.execute("SELECT count(*) FROM person WHERE id = 'pt7'").fetchone()[0] == 0
    assert (
        db.execute("SELECT count(*) FROM ingest_log WHERE id = %s", (s.ingest_id,)).fetchone()[0]
        == 0
    )


def test_forget_removes_what_a_source_wrote(db, tmp_path: Path) -> None:
    from riskmap.ingest.pipeline import forget

    path = write(tmp_path, "f.csv", "id,name,phone\npt8,吴十,13800000008\n")
    first = ingest_file(db, path, data_dir=tmp_path)
    assert forget(db, [str(path)]) == 1
    assert (
        db.execute("SELECT count(*) FROM ingest_log WHERE id = %s", (first.ingest_id,)).fetchone()[
            0
        ]
        == 0
    )
    again = ingest_file(db, path, data_dir=tmp_path)  # replayable: not a duplicate any more
    assert again.status == "loaded"
