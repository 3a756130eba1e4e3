"""A throwaway PKI for TLS tests, made with `cryptography`: a CA, a server certificate for
127.0.0.1 and localhost, a client certificate, and a second CA with a client and a server of
its own (the certificates a TLS server must refuse, or a client must not trust); and
`identity serve` run over TLS with it, as users run it."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from load_tests.server import free_port


@dataclass(frozen=True)
class Issued:
    certificate: Path
    key: Path

    def pair(self) -> tuple[bytes, bytes]:
        """(private key, certificate chain) as gRPC takes them."""
        return self.key.read_bytes(), self.certificate.read_bytes()


@dataclass(frozen=True)
class Pki:
    ca: Path
    server: Issued
    client: Issued
    other_ca: Path
    other_client: Issued  # issued by other_ca
    other_server: Issued  # issued by other_ca, for 127.0.0.1 too


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Northwind Traders"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def _write_certificate(certificate: x509.Certificate, path: Path) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def _builder(subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey,
             valid_days: int = 30) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=2))
            .not_valid_after(now + timedelta(days=valid_days)))


def make_ca(folder: Path, name: str) -> tuple[Path, x509.Name, ec.EllipticCurvePrivateKey]:
    key = _key()
    subject = _name(name)
    certificate = (_builder(name, subject, key)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(
                       digital_signature=True, key_cert_sign=True, crl_sign=True,
                       content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, encipher_only=False,
                       decipher_only=False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    return _write_certificate(certificate, folder / f"{name}.pem"), subject, key


def issue(folder: Path, name: str, ca: tuple[Path, x509.Name, ec.EllipticCurvePrivateKey], *,
          server: bool, valid_days: int = 30) -> Issued:
    """A leaf certificate the CA signed: for a server, valid for 127.0.0.1 and localhost."""
    _, issuer, ca_key = ca
    key = _key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (_builder(name, issuer, key, valid_days)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca_key.public_key()), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]),
            critical=False)
    certificate = builder.sign(ca_key, hashes.SHA256())
    return Issued(_write_certificate(certificate, folder / f"{name}.pem"),
                  _write_key(key, folder / f"{name}.key"))


def make_pki(folder: Path) -> Pki:
    ca = make_ca(folder, "identity-ca")
    other = make_ca(folder, "other-ca")
    return Pki(ca=ca[0], server=issue(folder, "server", ca, server=True),
               client=issue(folder, "client", ca, server=False),
               other_ca=other[0], other_client=issue(folder, "other-client", other, server=False),
               other_server=issue(folder, "other-server", other, server=True))


@dataclass(frozen=True)
class TlsServer:
    url: str  # https://127.0.0.1:port
    port: int
    grpc_port: int
    banner: Path  # the server's stderr
    env: dict[str, str]  # the environment it runs in


def trusting(ca: Path) -> ssl.SSLContext:
    """A client context that trusts `ca` alone (and checks the server's name)."""
    return ssl.create_default_context(cafile=str(ca))


@contextmanager
def serve_over_tls(pki: Pki, folder: Path, *, mutual: bool, by_environment: bool = False
                   ) -> Iterator[TlsServer]:
    """`identity serve --dev` with the PKI's server certificate (and the client CA when
    `mutual`), given as flags or, `by_environment`, as IDENTITY_TLS_* variables as the
    container gives them; yields once /readyz answers over HTTPS, verified against the CA."""
    port, grpc_port = free_port(), free_port()
    tls = {"IDENTITY_TLS_CERT_FILE": str(pki.server.certificate),
           "IDENTITY_TLS_KEY_FILE": str(pki.server.key)}
    if mutual:
        tls["IDENTITY_TLS_CLIENT_CA_FILE"] = str(pki.ca)
    flags = [] if by_environment else [
        part for name, value in tls.items()
        for part in (f"--{name.removeprefix('IDENTITY_').lower().replace('_', '-')}", value)]
    env = {**os.environ, "IDENTITY_PORT": str(port), **(tls if by_environment else {})}
    banner = folder / "stderr.log"
    with banner.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "identity.cli", "serve", "--dev", "--port", str(port),
             "--grpc-port", str(grpc_port), "--database", str(folder / "graph.db"),
             "--model", str(folder / "model.json"), "--rules", str(folder / "rules.toml"),
             "--log-level", "info", *flags],
            env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", verify=trusting(pki.ca), timeout=2
                             ).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("identity serve over TLS did not become ready:\n"
                                   f"{banner.read_text(errors='replace')}")
            time.sleep(0.2)
        yield TlsServer(url, port, grpc_port, banner, env)
    finally:
        if process.poll() is None:
            process.terminate()
        # uvicorn ends by raising the signal it stopped on again
        assert process.wait(timeout=30) in (0, -15), banner.read_text(errors="replace")
