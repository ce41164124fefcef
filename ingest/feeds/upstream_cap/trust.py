"""The certificates an operator trusts to sign upstream CAP (``RISKMAP_CAP_TRUSTED_CERTS``).

One PEM bundle, or a folder of ``.pem`` / ``.crt`` / ``.cer`` files (PEM or DER), each an
agency's signing certificate (pinned) or a CA that issues them. Read once by the face that
ingests (CLI, runner) and passed down as plain certificate objects.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from riskmap.geo.errors import InvalidArgumentError

CERT_SUFFIXES = (".pem", ".crt", ".cer")


def _read_one(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise InvalidArgumentError(
            f"{path}: not a PEM or DER X.509 certificate (RISKMAP_CAP_TRUSTED_CERTS): {exc}"
        ) from exc


def load_trusted_certs(path: Path | None) -> tuple[x509.Certificate, ...]:
    """Every certificate in ``path`` (a PEM bundle or a folder of certificate files).

    None gives no trusted certificates (every signature is then 'invalid': signer not trusted).
    Raises InvalidArgumentError naming the file when one cannot be read as a certificate.
    """
    if path is None:
        return ()
    if not path.exists():
        raise InvalidArgumentError(f"{path}: no such file or folder (RISKMAP_CAP_TRUSTED_CERTS)")
    files = (
        sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in CERT_SUFFIXES)
        if path.is_dir()
        else [path]
    )
    certs = [c for f in files for c in _read_one(f)]
    if not certs:
        raise InvalidArgumentError(
            f"{path}: holds no certificate ({', '.join(CERT_SUFFIXES)} files, PEM or DER)"
        )
    return tuple(dict.fromkeys(certs))
