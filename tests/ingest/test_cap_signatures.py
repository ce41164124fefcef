"""XML signatures of upstream CAP alerts through the real pipeline into PostGIS: real samples
signed here (tests/ingest/cap_signing.py) are 'verified' with the right certificate, 'invalid'
with another or after one changed character, 'unverified' without a signature; XXE stays out."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from pydantic import ValidationError
from signxml import CanonicalizationMethod

from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.settings import Settings
from riskmap.ingest.batch import FeedReadError
from riskmap.ingest.feeds.upstream_cap.feed import parse_cap
from riskmap.ingest.feeds.upstream_cap.safe_xml import _hardened_parser
from riskmap.ingest.feeds.upstream_cap.signature import check_signature
from riskmap.ingest.feeds.upstream_cap.trust import load_trusted_certs
from riskmap.ingest.pipeline import ingest_file
from tests.conftest import ROOT
from tests.ingest.cap_signing import CAP_DIR, alert_element, body, make_signer, sign, write_pem
from tests.ingest.cap_tables import emptied_cap
from tests.ingest.test_cap import SAMPLES
from tests.ingest.test_cap_multi import WRAPPERS

DSIG = "http://www.w3.org/2000/09/xmldsig#"
# a real message without a signature of its own, with a headline to tamper with
SAMPLE = "eu_meteoalarm_uk_metoffice_2022.xml"
SAMPLE_ID = "2.49.0.0.826.0.GB_221207102835_a705d176.v1.0.SI"


@pytest.fixture(scope="module")
def agency_a():
    return make_signer("agency A")


@pytest.fixture(scope="module")
def agency_b():
    return make_signer("agency B")


@pytest.fixture
def cap_db(db_url: str) -> Iterator[psycopg.Connection]:
    with emptied_cap(db_url) as conn:
        yield conn


def signature_of(conn: psycopg.Connection, identifier: str) -> tuple[str, str, str | None]:
    row = conn.execute(
        "SELECT signature_status, signature_reason, signature_signer FROM cap_alert"
        " WHERE identifier = %s",
        (identifier,),
    ).fetchone()
    assert row is not None, identifier
    return row


def load(conn, tmp: Path, name: str, data: bytes, trusted=()) -> object:
    path = tmp / name
    path.write_bytes(data)
    return ingest_file(conn, path, data_dir=tmp, trusted_certs=tuple(trusted))


def test_sample_identifier_is_the_files() -> None:
    root = alert_element(SAMPLE)
    ns = etree.QName(root).namespace
    assert root.findtext(f"{{{ns}}}identifier") == SAMPLE_ID
    assert root.find(f"{{{DSIG}}}Signature") is None  # unsigned as published


def test_signed_with_a_trusted_certificate_is_verified(cap_db, tmp_path, agency_a) -> None:
    doc = sign(alert_element(SAMPLE), agency_a)
    s = load(cap_db, tmp_path, "signed.xml", doc, [agency_a.cert])
    assert s.status == "loaded", s
    status, reason, signer = signature_of(cap_db, SAMPLE_ID)
    assert (status, signer) == ("verified", "CN=agency A,O=riskmap tests")
    assert "trusted certificate" in reason
    # the signed message is still the message: schema-valid, its rows as without a signature
    assert cap_db.execute(
        "SELECT schema_valid, (SELECT count(*) FROM cap_area) FROM cap_alert"
    ).fetchone() == (True, 10)


def test_signed_by_an_untrusted_certificate_is_invalid(
    cap_db, tmp_path, agency_a, agency_b
) -> None:
    doc = sign(alert_element(SAMPLE), agency_a)
    s = load(cap_db, tmp_path, "signed.xml", doc, [agency_b.cert])
    assert s.status == "loaded"  # recorded, not refused: a rule decides what it may trigger
    status, reason, signer = signature_of(cap_db, SAMPLE_ID)
    assert (status, signer) == ("invalid", None)
    assert reason.startswith("signer not trusted: CN=agency A,O=riskmap tests")


def test_one_changed_character_makes_it_invalid(cap_db, tmp_path, agency_a) -> None:
    doc = sign(alert_element(SAMPLE), agency_a)
    root = etree.fromstring(doc)
    ns = etree.QName(root).namespace
    headline = root.findtext(f"{{{ns}}}info/{{{ns}}}headline")
    assert headline and doc.count(headline.encode()) == 1
    i = doc.index(headline.encode())
    changed = doc[:i] + (b"X" if doc[i : i + 1] != b"X" else b"Y") + doc[i + 1 :]
    assert len(changed) == len(doc) and sum(a != b for a, b in zip(doc, changed, strict=True)) == 1
    load(cap_db, tmp_path, "tampered.xml", changed, [agency_a.cert])
    status, reason, _ = signature_of(cap_db, SAMPLE_ID)
    assert status == "invalid" and "Digest mismatch" in reason


def test_unsigned_alert_is_unverified(cap_db, tmp_path, agency_a) -> None:
    s = load(cap_db, tmp_path, "plain.xml", (CAP_DIR / SAMPLE).read_bytes(), [agency_a.cert])
    assert s.status == "loaded"
    assert signature_of(cap_db, SAMPLE_ID) == ("unverified", "no XML signature", None)


def test_no_trusted_certificates_configured(cap_db, tmp_path, agency_a) -> None:
    load(cap_db, tmp_path, "signed.xml", sign(alert_element(SAMPLE), agency_a))
    status, reason, _ = signature_of(cap_db, SAMPLE_ID)
    assert status == "invalid" and "no trusted certificates" in reason


def test_certificate_issued_by_a_trusted_ca_is_verified(cap_db, tmp_path) -> None:
    ca = make_signer("county CA", ca=True)
    leaf = make_signer("agency C", ca)
    doc = sign(alert_element(SAMPLE), leaf, chain=(ca.cert,))
    load(cap_db, tmp_path, "signed.xml", doc, [ca.cert])
    status, reason, signer = signature_of(cap_db, SAMPLE_ID)
    assert (status, signer) == ("verified", "CN=agency C,O=riskmap tests")
    assert "trusted CA" in reason


def _embedded_cert(path: Path) -> x509.Certificate:
    el = etree.parse(str(path)).getroot().find(f".//{{{DSIG}}}X509Certificate")
    return x509.load_der_x509_certificate(base64.b64decode("".join(el.text.split())))


def test_real_ipaws_signature_with_its_certificate_trusted_is_expired(cap_db, tmp_path) -> None:
    # FEMA signed it in 2019 with a certificate valid until 2022-03-04: trusting exactly that
    # certificate today still gives 'invalid', and the reason says why
    path = CAP_DIR / "us_ipaws_nv_cancel_2019.xml"
    cert = _embedded_cert(path)
    assert cert.not_valid_after_utc.year == 2022
    s = ingest_file(cap_db, path, data_dir=tmp_path, trusted_certs=(cert,))
    assert s.status == "loaded"
    status, reason, _ = signature_of(cap_db, "AS-NV-58d33e3a-1f9a-4909-9d59-34e90b33b3e8")
    assert status == "invalid" and "expired" in reason and "2022-03-04" in reason


@pytest.mark.parametrize("wrapper", ["custom", *sorted(WRAPPERS)])
def test_signed_alerts_inside_a_wrapper_are_checked_one_by_one(
    cap_db, tmp_path, agency_a, agency_b, wrapper: str
) -> None:
    names = ("spec_examples/cap12_A1_homeland_security.xml", SAMPLE, "is_imo_wind_2021.xml")
    good = sign(alert_element(names[0]), agency_a)  # exclusive C14N, as CAP signers use
    # inclusive C14N too: the wrapper's namespace declarations must not leak into the digest
    inclusive = sign(
        alert_element(names[1]), agency_a, c14n=CanonicalizationMethod.CANONICAL_XML_1_0
    )
    bodies = [body(good), body(inclusive), body((CAP_DIR / names[2]).read_bytes())]
    if wrapper == "custom":
        doc = (
            '<alerts xmlns="urn:example:list" xmlns:extra="urn:example:extra">'
            + "".join(f"<item>{b}</item>" for b in bodies)
            + "</alerts>"
        )
    else:
        doc = WRAPPERS[wrapper](bodies)
    s = load(cap_db, tmp_path, "list.xml", doc.encode(), [agency_a.cert, agency_b.cert])
    assert s.status == "loaded" and s.loaded["cap_alert"] == 3
    got = dict(cap_db.execute("SELECT identifier, signature_status FROM cap_alert").fetchall())
    assert got == {
        "43b080713727": "verified",
        SAMPLE_ID: "verified",
        "is-IMO-2a4c2db8-07fd-4a0f-b372-9667280d46d1": "unverified",
    }


def test_xxe_inside_a_signed_document_is_refused(cap_db, tmp_path, agency_a) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42", encoding="utf-8")
    doc = sign(alert_element(SAMPLE), agency_a).decode()
    ns_end = doc.index(">") + 1
    evil = (
        f'<?xml version="1.0"?>\n<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        + doc[:ns_end]
        + "<note>&xxe;</note>"
        + doc[ns_end:]
    )
    s = load(cap_db, tmp_path, "xxe.xml", evil.encode(), [agency_a.cert])
    assert s.status == "rejected" and "DOCTYPE" in s.message and "XXE" in s.message
    assert cap_db.execute("SELECT count(*) FROM cap_alert").fetchone() == (0,)
    logged = cap_db.execute("SELECT message FROM ingest_log WHERE id = %s", (s.ingest_id,))
    assert "TOP-SECRET" not in logged.fetchone()[0]
    with pytest.raises(FeedReadError, match="DOCTYPE"):  # the poller's bytes path too
        parse_cap(evil.encode(), "https://example.org/xxe.xml", (agency_a.cert,))
    # defence in depth: even an alert parsed with its DTD kept (never done by the feed) gives
    # the verifier an unexpanded reference, and it answers 'invalid' without reading the file
    kept = etree.fromstring(evil.encode(), _hardened_parser())
    got = check_signature(kept, [agency_a.cert])
    assert got.status == "invalid" and "TOP-SECRET" not in got.reason


@pytest.mark.parametrize("command", ["file", "run"])
def test_the_commands_read_the_trusted_certificates_setting(
    cap_db, db_url: str, tmp_path: Path, agency_a, agency_b, command: str
) -> None:
    """RISKMAP_CAP_TRUSTED_CERTS reaches the check from `riskmap ingest file` and from the
    drop-folder runner (`riskmap ingest run --once`)."""
    names = ("spec_examples/cap12_A1_homeland_security.xml", SAMPLE, "is_imo_wind_2021.xml")
    items = [
        sign(alert_element(names[0]), agency_a),
        sign(alert_element(names[1]), agency_b),
        (CAP_DIR / names[2]).read_bytes(),
    ]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    doc = inbox / "three.xml"
    doc.write_text(
        '<alerts xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        + "".join(body(i) for i in items)
        + "</alerts>",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env |= {
        "RISKMAP_DATABASE_URL": db_url,
        "RISKMAP_DATA_DIR": str(tmp_path),
        "RISKMAP_CAP_TRUSTED_CERTS": str(write_pem(tmp_path / "trusted.pem", agency_a)),
        "COLUMNS": "200",  # rich wraps narrower output
    }
    riskmap = str(Path(sys.executable).parent / "riskmap")
    argv = {
        "file": [riskmap, "ingest", "file", str(doc)],
        "run": [riskmap, "ingest", "run", "--once", "--no-rules", "--inbox", str(inbox)],
    }[command]
    run = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    if command == "run":
        assert "1 trusted CAP signing certificate(s)" in run.stdout, run.stdout
    got = dict(cap_db.execute("SELECT identifier, signature_status FROM cap_alert").fetchall())
    assert got == {
        "43b080713727": "verified",
        SAMPLE_ID: "invalid",  # agency B signed it; only A is trusted
        "is-IMO-2a4c2db8-07fd-4a0f-b372-9667280d46d1": "unverified",
    }


# -- the trusted certificates setting ------------------------------------------------------------


def test_trusted_certificates_from_a_bundle_or_a_folder(tmp_path, agency_a, agency_b) -> None:
    bundle = write_pem(tmp_path / "trusted.pem", agency_a, agency_b)
    assert load_trusted_certs(bundle) == (agency_a.cert, agency_b.cert)
    folder = tmp_path / "certs"
    folder.mkdir()
    write_pem(folder / "a.pem", agency_a)
    (folder / "b.cer").write_bytes(agency_b.cert.public_bytes(serialization.Encoding.DER))
    (folder / "README.txt").write_text("not a certificate")
    assert set(load_trusted_certs(folder)) == {agency_a.cert, agency_b.cert}
    assert load_trusted_certs(None) == ()


def test_a_bad_certificate_file_is_named(tmp_path) -> None:
    bad = tmp_path / "broken.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(InvalidArgumentError, match=r"broken\.pem"):
        load_trusted_certs(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidArgumentError, match="holds no certificate"):
        load_trusted_certs(empty)


def test_setting_is_read_from_the_environment(tmp_path, agency_a, monkeypatch) -> None:
    bundle = write_pem(tmp_path / "trusted.pem", agency_a)
    monkeypatch.setenv("RISKMAP_CAP_TRUSTED_CERTS", str(bundle))
    assert Settings().cap_trusted_certs == bundle
    monkeypatch.setenv("RISKMAP_CAP_TRUSTED_CERTS", str(tmp_path / "missing.pem"))
    with pytest.raises(ValidationError, match="RISKMAP_CAP_TRUSTED_CERTS"):
        Settings()


# -- the real samples ---------------------------------------------------------------------------

# The messages PROVENANCE.md's feature matrix marks with an XML-DSig signature.
SIGNED_SAMPLES = {
    "ca_eccc_naad_2019_bilingual.xml",
    "cap11/us_cisn_quake_cap11_signed_2011.xml",
    "ph_pagasa_tc_test_2014.xml",
    "us_athoc_cancel_signed_2016.xml",
    "us_ipaws_local_area_emergency_polygon.xml",
    "us_ipaws_nv_cancel_2019.xml",
    "us_ntwc_tsunami_cancellation_signed_2013.xml",
}


def test_every_real_message_gets_a_signature_status(cap_db, tmp_path) -> None:
    """Without trusted certificates: the signed samples 'invalid' (signer not trusted), the
    others 'unverified'; each still loads as before (test_cap.SAMPLES)."""
    messages = [n for n, rows in SAMPLES.items() if rows and rows[0] and "atom/" not in n]
    assert SIGNED_SAMPLES <= set(messages)
    for name in messages:
        s = ingest_file(cap_db, CAP_DIR / name, data_dir=tmp_path)
        assert s.status == "loaded", (name, s)
        (status, reason), *more = cap_db.execute(
            "SELECT signature_status, signature_reason FROM cap_alert WHERE ingest_id = %s",
            (s.ingest_id,),
        ).fetchall()
        assert not more
        if name in SIGNED_SAMPLES:
            assert (status, reason) == (
                "invalid",
                "signer not trusted: no trusted certificates are configured",
            ), name
        else:
            assert (status, reason) == ("unverified", "no XML signature"), name


@pytest.mark.parametrize(
    ("element", "attribute", "value", "words"),
    [
        ("SignatureValue", None, "!!", "verify"),
        ("Reference", "URI", "#part", 'URI=""'),
        ("SignatureMethod", "Algorithm", "urn:example:none", "verify"),
    ],
    ids=["garbled value", "partial reference", "unknown algorithm"],
)
def test_a_malformed_signature_is_invalid_and_the_alert_loads(
    cap_db, tmp_path, agency_a, element: str, attribute: str | None, value: str, words: str
) -> None:
    root = etree.fromstring(sign(alert_element(SAMPLE), agency_a))
    target = root.find(f"{{{DSIG}}}Signature//{{{DSIG}}}{element}")
    if attribute is None:
        target.text = value
    else:
        target.set(attribute, value)
    s = load(cap_db, tmp_path, "bad-sig.xml", etree.tostring(root), [agency_a.cert])
    assert s.status == "loaded" and s.loaded["cap_alert"] == 1
    status, reason, signer = signature_of(cap_db, SAMPLE_ID)
    assert (status, signer) == ("invalid", None) and words in reason, reason
