"""Certificates made here with ``cryptography`` and CAP alerts signed with signxml's signer, the
way IPAWS and Environment Canada sign CAP (enveloped XML-DSig, RSA-SHA256, the certificate in
KeyInfo), so the tests need no key material of anyone else's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import CanonicalizationMethod, XMLSigner, methods

from tests.conftest import SHARED_DATA

CAP_DIR = SHARED_DATA / "cap"
EXC_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0


@dataclass(frozen=True)
class Signer:
    """A key and its certificate."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def make_signer(name: str, issuer: Signer | None = None, *, ca: bool = False) -> Signer:
    """A 2048-bit RSA key with a certificate valid from yesterday for 30 days: self-signed, or
    issued by ``issuer``; ``ca`` makes it a CA certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "riskmap tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(_usage(ca=ca), critical=True)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
        if not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Signer(key, cert)


def alert_element(name: str) -> etree._Element:
    """The ``<alert>`` of a real sample, parsed plainly (the samples hold no DTD)."""
    return etree.fromstring((CAP_DIR / name).read_bytes())


def sign(
    alert: etree._Element,
    signer: Signer,
    *,
    chain: tuple[x509.Certificate, ...] = (),
    c14n: CanonicalizationMethod = EXC_C14N,
) -> bytes:
    """``alert`` with an enveloped signature (URI=""), RSA-SHA256, the certificate (and
    ``chain``) in KeyInfo; as standalone document bytes."""
    xml_signer = XMLSigner(method=methods.enveloped, c14n_algorithm=c14n)
    signed = xml_signer.sign(alert, key=signer.key, cert=[signer.cert, *chain])
    return etree.tostring(signed)


def body(doc: bytes) -> str:
    """The alert of ``doc`` as text without an XML declaration or BOM, to embed in a wrapper."""
    return etree.tostring(etree.fromstring(doc), encoding="unicode")


def write_pem(path: Path, *signers: Signer) -> Path:
    path.write_bytes(b"".join(s.pem() for s in signers))
    return path
