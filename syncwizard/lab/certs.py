"""A self-signed certificate for the lab's Sync Service stand-in, and its fingerprint.

The real Sync Service ships a self-signed certificate too, so the lab exercises
the same TLS choices an admin faces: trust it as a CA bundle, or pin its
SHA-256 fingerprint.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path

from syncwizard.errors import SyncWizardError

VALID_DAYS = 825  # the longest validity Apple and browsers accept for a TLS server cert
_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", flags=re.DOTALL)


def make_self_signed(cert_path: Path, key_path: Path, *, host: str = "127.0.0.1") -> None:
    """Write an EC P-256 certificate and key for `host`, 127.0.0.1 and localhost.

    Does nothing when both files exist. Otherwise both are made afresh (a lone
    certificate without its key is useless), written under temporary names and
    renamed, so a failure leaves no half pair. Files are 0600, new folders 0700.
    """
    if cert_path.exists() and key_path.exists():
        return
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SyncWizardError(
            "The openssl command was not found; the lab needs it to make the stand-in's "
            "TLS certificate.",
            hint="Install it: apt-get install openssl",
            system="lab",
        )
    for folder in {cert_path.parent, key_path.parent}:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=key_path.parent) as scratch:
        new_key = Path(scratch) / "key.pem"
        new_cert = Path(scratch) / "cert.pem"
        command = [
            openssl, "req", "-x509", "-nodes",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-keyout", str(new_key), "-out", str(new_cert),
            "-days", str(VALID_DAYS), "-subj", f"/CN={host}",
            "-addext", f"subjectAltName={_subject_alt_names(host)}",
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "extendedKeyUsage=serverAuth",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, umask=0o077, check=False)
        if done.returncode != 0:
            raise SyncWizardError(
                f"openssl could not make a certificate for {host} "
                f"(exit {done.returncode}): {done.stderr.strip()[-400:]}",
                hint="Check that the openssl command works: openssl version",
                system="lab",
            )
        for made in (new_key, new_cert):
            made.chmod(0o600)
        os.replace(new_cert, cert_path)
        os.replace(new_key, key_path)


def fingerprint_sha256(cert_path: Path) -> str:
    """The SHA-256 fingerprint of the first certificate in a PEM file: `sha256:AB:CD:...`."""
    pem = cert_path.read_text(encoding="ascii", errors="replace")
    found = _PEM_CERT.search(pem)
    if found is None:
        raise SyncWizardError(
            f"{cert_path} holds no PEM certificate (no BEGIN CERTIFICATE block).",
            hint="Point at the certificate file (PEM), not at the key or a Java keystore.",
            system="lab",
        )
    der = ssl.PEM_cert_to_DER_cert(found.group(0))
    return "sha256:" + ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


def _subject_alt_names(host: str) -> str:
    names = ["IP:127.0.0.1", "DNS:localhost"]
    try:
        ipaddress.ip_address(host)
        extra = f"IP:{host}"
    except ValueError:
        extra = f"DNS:{host}"
    if extra not in names:
        names.append(extra)
    return ",".join(names)
