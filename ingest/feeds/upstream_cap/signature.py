"""XML signatures of upstream CAP alerts: enveloped XML-DSig, as IPAWS and Environment Canada
sign CAP, checked against the certificates the operator trusts and recorded per alert.

- ``verified``: a signature over the whole ``<alert>`` made with the key of a trusted
  certificate (pinned), or of a certificate a trusted CA issued, valid now;
- ``unverified``: the alert carries no signature;
- ``invalid``: a signature is present but fails (digest, key, algorithm, expiry) or its signer
  is not trusted. The reason says which.

signxml does the XML-DSig work. It only ever sees the alert re-serialised from the tree
:mod:`.safe_xml` parsed (which refused any DTD, so no entity is left) and parses it with the
same hardened parser, so verifying re-enables neither entity expansion nor network access.
SHA-1 signatures and digests are refused (signxml's default).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.exceptions import InvalidCertificate, SignXMLException
from signxml.util import X509CertChainVerifier

from riskmap.ingest.feeds.upstream_cap.safe_xml import _hardened_parser

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
Status = Literal["verified", "unverified", "invalid"]
# the Signature must be a child of <alert> (enveloped, as CAP 1.2 places it) and reference
# the alert whole (URI=""), checked before signxml runs
_CONFIG = SignatureConfiguration(location="./", expect_references=1)


@dataclass(frozen=True)
class SignatureCheck:
    """What the signature of one alert amounts to, and why."""

    status: Status
    reason: str
    signer: str | None = None  # subject of the certificate that verified


class _TrustedChain(X509CertChainVerifier):
    """signxml's chain check (cryptography's verifier) with the trusted certificates as its
    store, in place of a CA bundle file."""

    def __init__(self, trusted: Sequence[x509.Certificate], ee_policy, ca_policy) -> None:
        super().__init__(ca_pem_file="", ee_policy=ee_policy, ca_policy=ca_policy)
        self._trusted = list(trusted)

    @property
    def store(self) -> x509.verification.Store:
        return x509.verification.Store(self._trusted)


class _Verifier(XMLVerifier):
    def __init__(self, trusted: Sequence[x509.Certificate]) -> None:
        super().__init__()
        self._trusted = trusted

    def get_cert_chain_verifier(self, ca_pem_file, ee_policy, ca_policy) -> X509CertChainVerifier:
        return _TrustedChain(self._trusted, ee_policy, ca_policy)


def _embedded_certs(signature: etree._Element) -> list[x509.Certificate]:
    """The certificates in the signature's KeyInfo (unreadable ones are skipped)."""
    out = []
    for el in signature.iterfind(f".//{{{DSIG_NS}}}X509Certificate"):
        try:
            out.append(x509.load_der_x509_certificate(base64.b64decode("".join(el.text.split()))))
        except (ValueError, AttributeError, TypeError):
            continue
    return out


def _describe(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or f"serial {cert.serial_number}"


def _standalone(alert: etree._Element) -> bytes:
    """The alert as the document it was signed as: without the namespace declarations a wrapper
    (EDXL-DE, Atom, a list root) put in scope and the alert does not use, which would change an
    inclusively canonicalised digest."""
    parent = alert.getparent()
    inherited = parent.nsmap if parent is not None else {}
    own = [p for p, uri in alert.nsmap.items() if inherited.get(p) != uri]
    copy = etree.fromstring(etree.tostring(alert), _hardened_parser())
    etree.cleanup_namespaces(copy, keep_ns_prefixes=[p for p in own if p])
    return etree.tostring(copy)


def _verify(
    data: bytes,
    trusted: Sequence[x509.Certificate],
    pinned: x509.Certificate | None,
    leaf: x509.Certificate | None = None,
) -> SignatureCheck:
    """Verify ``data`` with the ``pinned`` certificate's key, or (None) through the embedded
    chain, whose ``leaf`` names the signer."""
    verifier = _Verifier(trusted)
    try:
        result = verifier.verify(
            data, x509_cert=pinned, parser=_hardened_parser(), expect_config=_CONFIG
        )
    except InvalidCertificate as exc:
        who = (
            f"{_describe(leaf)} is neither a trusted certificate nor issued by one: "
            if leaf
            else ""
        )
        return SignatureCheck("invalid", f"signer not trusted: {who}{exc}"[:1000])
    except (SignXMLException, ValueError, etree.LxmlError) as exc:
        return SignatureCheck("invalid", f"signature does not verify: {exc}"[:1000])
    except Exception as exc:  # hostile input choking the library marks the alert, never the file
        what = f"{type(exc).__name__}: {exc}"
        return SignatureCheck("invalid", f"signature cannot be checked: {what}"[:1000])
    signed = result.signed_xml  # type: ignore[union-attr]
    if signed is None or etree.QName(signed).localname != "alert":
        return SignatureCheck("invalid", "the signature does not cover the whole <alert>")
    cert = pinned or leaf
    how = "a trusted certificate" if pinned is not None else "a certificate a trusted CA issued"
    signer = _describe(cert) if cert is not None else None
    return SignatureCheck("verified", f"signed by {signer} ({how})", signer)


def check_signature(alert: etree._Element, trusted: Sequence[x509.Certificate]) -> SignatureCheck:
    """Verify the enveloped XML signature of ``alert`` against the ``trusted`` certificates.

    A certificate in the signature that is itself trusted is used directly (pinned); otherwise
    the embedded chain must lead to a trusted certificate; a signature without certificates is
    tried against each trusted certificate.
    """
    signatures = alert.findall(f"{{{DSIG_NS}}}Signature")
    if not signatures:
        return SignatureCheck("unverified", "no XML signature")
    if not trusted:
        return SignatureCheck(
            "invalid", "signer not trusted: no trusted certificates are configured"
        )
    refs = signatures[0].findall(f"{{{DSIG_NS}}}SignedInfo/{{{DSIG_NS}}}Reference")
    if len(refs) != 1 or refs[0].get("URI") != "":
        return SignatureCheck(
            "invalid", 'the signature must have one Reference with URI="" (the whole <alert>)'
        )
    try:
        data = _standalone(alert)
    except etree.LxmlError as exc:  # e.g. an entity reference left by a parse that kept a DTD
        return SignatureCheck("invalid", f"the alert cannot be re-read to verify it: {exc}")
    embedded = _embedded_certs(signatures[0])
    tried = [_verify(data, trusted, c) for c in embedded if c in trusted]  # pinned
    if embedded and not any(t.status == "verified" for t in tried):
        chain = _verify(data, trusted, None, embedded[0])
        tried = [chain, *tried] if chain.status == "verified" or not tried else tried
    if not embedded:  # KeyValue only, or no KeyInfo: the key must be a trusted one
        tried = [_verify(data, trusted, cert) for cert in trusted]
    return next((t for t in tried if t.status == "verified"), tried[0])
