"""Documents that hold several CAP alerts (a list root in the CAP namespace, RSS, EDXL-DE, Atom,
any wrapper), built here from the real samples: each alert sniffed, split, checked and loaded on
its own through the real pipeline, by `riskmap ingest file` and by the drop-folder runner."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from lxml import etree

from riskmap.ingest.feeds.upstream_cap.feed import CapFeed
from riskmap.ingest.pipeline import ingest_file
from tests.conftest import ROOT, SHARED_DATA
from tests.ingest.cap_tables import emptied_cap
from tests.ingest.test_cap import SAMPLES

CAP_DIR = SHARED_DATA / "cap"
NS12 = "urn:oasis:names:tc:emergency:cap:1.2"
RISKMAP = str(Path(sys.executable).parent / "riskmap")
# real messages of five agencies in three languages, CAP 1.2 and 1.1, one schema-invalid (SE)
# and one signed by its agency (ECCC), one starting with a BOM (TW)
MEMBERS = (
    "spec_examples/cap12_A1_homeland_security.xml",
    "eu_meteoalarm_uk_metoffice_2022.xml",
    "ca_eccc_naad_2019_bilingual.xml",
    "tw_wra_reservoir_zh-tw_2014.xml",
    "se_krisinformation_2018.xml",
    "cap11/us_nws_blizzard_cap11.xml",
)


def body(name: str) -> str:
    """The sample's <alert> as text (no declaration, no BOM), as a wrapper embeds it."""
    return etree.tostring(etree.fromstring((CAP_DIR / name).read_bytes()), encoding="unicode")


def identifier(name: str) -> str:
    root = etree.fromstring((CAP_DIR / name).read_bytes())
    return root.findtext(f"{{{etree.QName(root).namespace}}}identifier")


def expected_rows(names: tuple[str, ...]) -> tuple[int, int, int]:
    """Alerts, infos and areas the samples give on their own (test_cap.SAMPLES)."""
    rows = [SAMPLES[n] for n in names]
    return tuple(sum(r[i] for r in rows) for i in range(3))  # type: ignore[return-value,index]


def cap_list(bodies: list[str]) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<alerts xmlns="{NS12}">{"".join(bodies)}</alerts>'
    )


def rss(bodies: list[str], preamble: str = "") -> str:
    items = "".join(f"<item><title>alert {i}</title>{b}</item>" for i, b in enumerate(bodies))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>alerts</title>'
        f"<description>{preamble}</description>{items}</channel></rss>"
    )


def edxl(bodies: list[str]) -> str:
    objects = "".join(
        f"<contentObject><xmlContent><embeddedXMLContent>{b}</embeddedXMLContent></xmlContent>"
        "</contentObject>"
        for b in bodies
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<EDXLDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:1.0">'
        "<distributionID>d-1</distributionID><senderID>riskmap@example.org</senderID>"
        f"{objects}</EDXLDistribution>"
    )


def atom(bodies: list[str]) -> str:
    entries = "".join(
        f"<entry><id>urn:t:{i}</id><updated>2030-07-01T00:00:00Z</updated><title>a</title>"
        f'<content type="application/cap+xml">{b}</content></entry>'
        for i, b in enumerate(bodies)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>urn:t:feed</id><title>t</title><updated>2030-07-01T00:00:00Z</updated>{entries}</feed>"
    )


WRAPPERS = {"cap-list": cap_list, "rss": rss, "edxl-de": edxl, "atom": atom}


@pytest.fixture
def cap_db(db_url: str) -> Iterator[psycopg.Connection]:
    with emptied_cap(db_url) as conn:
        yield conn


def loaded(conn: psycopg.Connection) -> tuple[int, int, int]:
    return tuple(
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("cap_alert", "cap_info", "cap_area")
    )  # type: ignore[return-value]


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


# -- sniffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_sniff_claims_documents_of_several_alerts(tmp_path: Path, wrapper: str) -> None:
    path = write(tmp_path, f"{wrapper}.xml", WRAPPERS[wrapper]([body(n) for n in MEMBERS[:2]]))
    with path.open("rb") as fh:
        assert CapFeed().sniff(path, fh.read(4096))


def test_sniff_reads_past_a_long_preamble(tmp_path: Path) -> None:
    # the first <alert> starts after the 4 KiB head the pipeline hands to sniff
    text = rss([body(MEMBERS[0])], preamble="x" * 10_000)
    assert text.index("<alert") > 4096
    path = write(tmp_path, "long.xml", text)
    with path.open("rb") as fh:
        assert CapFeed().sniff(path, fh.read(4096))


def test_sniff_leaves_xml_without_cap_alerts(tmp_path: Path) -> None:
    plain = write(
        tmp_path, "plain.xml", "<rss><channel><item><alert>x</alert></item></channel></rss>"
    )
    mention = write(tmp_path, "mention.xml", f'<doc xmlns:c="{NS12}"><c:note>n</c:note></doc>')
    for path in (plain, mention):
        with path.open("rb") as fh:
            assert not CapFeed().sniff(path, fh.read(4096)), path


# -- loading each alert on its own --------------------------------------------------------------


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_each_alert_of_a_document_is_loaded(cap_db, tmp_path: Path, wrapper: str) -> None:
    path = write(tmp_path, f"{wrapper}.xml", WRAPPERS[wrapper]([body(n) for n in MEMBERS]))
    s = ingest_file(cap_db, path, data_dir=tmp_path)  # kind found by sniffing
    assert (s.kind, s.status) == ("cap", "loaded"), s
    assert loaded(cap_db) == expected_rows(MEMBERS) == (6, 7, 17)
    got = {r[0] for r in cap_db.execute("SELECT identifier FROM cap_alert")}
    assert got == {identifier(n) for n in MEMBERS}
    # each alert is checked on its own: the Swedish one breaks the schema (as it does alone),
    # the others pass theirs (1.1 or 1.2)
    valid = dict(cap_db.execute("SELECT identifier, schema_valid FROM cap_alert").fetchall())
    assert [k for k, v in valid.items() if not v] == [identifier("se_krisinformation_2018.xml")]
    versions = dict(cap_db.execute("SELECT identifier, cap_version FROM cap_alert").fetchall())
    assert versions[identifier("cap11/us_nws_blizzard_cap11.xml")] == "1.1"
    assert all(r == (s.ingest_id,) for r in cap_db.execute("SELECT ingest_id FROM cap_alert"))


def test_languages_are_kept_per_alert(cap_db, tmp_path: Path) -> None:
    path = write(tmp_path, "list.xml", cap_list([body(n) for n in MEMBERS]))
    ingest_file(cap_db, path, data_dir=tmp_path)
    rows = cap_db.execute(
        "SELECT a.identifier, array_agg(i.language ORDER BY i.ordinal) FROM cap_alert a"
        " JOIN cap_info i ON i.alert_id = a.id GROUP BY a.identifier"
    ).fetchall()
    langs = dict(rows)
    assert langs[identifier("ca_eccc_naad_2019_bilingual.xml")] == ["en-CA", "fr-CA"]
    assert langs[identifier("se_krisinformation_2018.xml")] == ["sv-SE"]
    assert langs[identifier("eu_meteoalarm_uk_metoffice_2022.xml")] == ["en-GB"]


def test_a_bad_alert_is_quarantined_and_the_others_kept(cap_db, tmp_path: Path) -> None:
    bodies = [body(n) for n in MEMBERS[:3]]
    assert bodies[1].count("<urgency>") == 1
    bodies[1] = bodies[1].replace("<urgency>", "<urgency_>").replace("</urgency>", "</urgency_>")
    path = write(tmp_path, "mixed.xml", cap_list(bodies))
    s = ingest_file(cap_db, path, data_dir=tmp_path)
    assert s.status == "partial"
    bad_id = identifier(MEMBERS[1])
    (p,) = s.problems
    assert (p.record, p.field) == (f"alert 2 ({bad_id})", "info[1]/urgency")
    assert "required <urgency> is missing" in p.reason
    kept = {r[0] for r in cap_db.execute("SELECT identifier FROM cap_alert")}
    assert kept == {identifier(MEMBERS[0]), identifier(MEMBERS[2])}
    q = cap_db.execute(
        "SELECT source, record, field FROM quarantine WHERE ingest_id = %s", (s.ingest_id,)
    ).fetchall()
    assert q == [(str(path), f"alert 2 ({bad_id})", "info[1]/urgency")]


def test_a_truncated_document_loads_nothing(cap_db, tmp_path: Path) -> None:
    text = cap_list([body(n) for n in MEMBERS[:3]])
    path = write(tmp_path, "cut.xml", text[: len(text) * 2 // 3])
    s = ingest_file(cap_db, path, data_dir=tmp_path, kind="cap")
    assert s.status == "rejected" and "cut.xml" in s.message and "not well-formed" in s.message
    assert loaded(cap_db) == (0, 0, 0)


# -- the commands ------------------------------------------------------------------------------


def _env(db_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env |= {"RISKMAP_DATABASE_URL": db_url, "RISKMAP_DATA_DIR": str(data_dir)}
    return env | {"COLUMNS": "200"}  # rich wraps narrower output


def test_riskmap_ingest_file_loads_a_multi_alert_document(
    cap_db, db_url: str, tmp_path: Path
) -> None:
    path = write(tmp_path, "edxl.xml", edxl([body(n) for n in MEMBERS]))
    run = subprocess.run(
        [RISKMAP, "ingest", "file", str(path)],
        env=_env(db_url, tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "(cap): loaded" in run.stdout
    assert re.search(r"^\s*cap_alert\s+6\s*$", run.stdout, re.M), run.stdout
    assert loaded(cap_db) == (6, 7, 17)


def test_drop_folder_runner_loads_a_multi_alert_document(
    cap_db, db_url: str, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, "alerts.xml", rss([body(n) for n in MEMBERS]))
    run = subprocess.run(
        [RISKMAP, "ingest", "run", "--once", "--no-rules", "--inbox", str(inbox)],
        env=_env(db_url, tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert loaded(cap_db) == (6, 7, 17)
    assert not (inbox / "alerts.xml").exists()
    assert list((inbox / "archive").rglob("alerts.xml"))
