"""TLS for GraphQL and gRPC, and mutual TLS for gRPC: the certificate settings, read and
checked once at start (docs/architecture.md, "Security and privacy", "TLS").

Every check names the setting at fault and says why; none shows what a file holds (a key's
bytes never reach an error, a log or a repr). Both servers are handed the files checked here:
uvicorn by path (it reads them itself, at start), grpc.aio by content.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from identity.domain.identifiers import printable

CERT_FILE = "TLS_CERT_FILE"
KEY_FILE = "TLS_KEY_FILE"
CLIENT_CA_FILE = "TLS_CLIENT_CA_FILE"
_MAX_FILE_BYTES = 1 << 20  # a certificate chain or key larger than 1 MiB is not one


@dataclass(frozen=True)
class TlsFiles:
    """The server's certificate chain and key (PEM), and for mutual TLS on gRPC the CA
    whose certificates clients must present. `expires`: when the server certificate
    stops being valid, for the start-up banner."""

    cert_file: str
    key_file: str
    client_ca_file: str | None
    certificate_chain: bytes = field(repr=False)
    private_key: bytes = field(repr=False)
    client_ca: bytes | None = field(repr=False)
    expires: datetime

    @property
    def mutual(self) -> bool:
        """gRPC clients must present a certificate issued by the client CA."""
        return self.client_ca is not None

    def uvicorn_options(self) -> dict[str, Any]:
        """uvicorn.run / uvicorn.Config keywords for HTTPS. HTTP never asks for a client
        certificate, whatever the client CA (docs/architecture.md, "TLS")."""
        return {"ssl_certfile": self.cert_file, "ssl_keyfile": self.key_file}


def load_tls(cert_file: str | None, key_file: str | None, client_ca_file: str | None,
             prefix: str = "IDENTITY_") -> TlsFiles | None:
    """None while no certificate is configured (plaintext). Raises ValueError naming the
    setting (`prefix` + TLS_...) when one is given without the other, a file is missing,
    unreadable or not PEM of its kind, a key is encrypted, or the key does not match the
    certificate."""
    cert_name, key_name, ca_name = (prefix + CERT_FILE, prefix + KEY_FILE,
                                    prefix + CLIENT_CA_FILE)
    if not cert_file and not key_file:
        if client_ca_file:
            raise ValueError(f"{ca_name} is set without {cert_name} and {key_name}: mutual TLS "
                             "needs the server's own certificate and key as well")
        return None
    if not cert_file or not key_file:
        given, missing = (cert_name, key_name) if cert_file else (key_name, cert_name)
        raise ValueError(f"{given} is set without {missing}: TLS needs both the certificate "
                         "and its private key")
    chain_pem = _read(cert_file, cert_name)
    chain = _certificates(chain_pem, cert_file, cert_name)
    key_pem = _read(key_file, key_name)
    key = _private_key(key_pem, key_file, key_name)
    if _public(chain[0].public_key()) != _public(key.public_key()):
        raise ValueError(f"{key_name} '{printable(key_file, 200)}' is not the key of the "
                         f"certificate in {cert_name} '{printable(cert_file, 200)}' (the "
                         "first certificate of the file must be the server's own)")
    try:  # what uvicorn will do at start: anything else OpenSSL refuses fails here
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_file, key_file)
    except ssl.SSLError as exc:
        raise ValueError(f"{cert_name} and {key_name}: OpenSSL refuses them "
                         f"({exc.reason or type(exc).__name__})") from None
    client_ca = None
    if client_ca_file:
        client_ca = _read(client_ca_file, ca_name)
        _certificates(client_ca, client_ca_file, ca_name)
    return TlsFiles(cert_file, key_file, client_ca_file or None, chain_pem, key_pem,
                    client_ca, chain[0].not_valid_after_utc)


def expired(tls: TlsFiles, now: datetime | None = None) -> bool:
    """The server certificate is past its end: clients will refuse every connection."""
    return tls.expires <= (now or datetime.now(UTC))


def _read(path: str, name: str) -> bytes:
    where = f"{name} '{printable(path, 200)}'"
    try:
        with Path(path).open("rb") as file:
            data = file.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{where} cannot be read: {exc.strerror or type(exc).__name__}"
                         ) from None
    except ValueError:  # a NUL in the path
        raise ValueError(f"{where} is not a file path: it holds a NUL character") from None
    if len(data) > _MAX_FILE_BYTES:
        raise ValueError(f"{where} is larger than {_MAX_FILE_BYTES:,} bytes: not a PEM file")
    return data


def _certificates(data: bytes, path: str, name: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:  # its message may quote the file: not repeated
        raise ValueError(f"{name} '{printable(path, 200)}' holds no PEM certificate "
                         "(-----BEGIN CERTIFICATE-----)") from None


def _private_key(data: bytes, path: str, name: str) -> PrivateKeyTypes:
    where = f"{name} '{printable(path, 200)}'"
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ValueError(f"{where} is encrypted: give the key without a passphrase (keep "
                         "the file readable by the service's user only)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(f"{where} holds no PEM private key (-----BEGIN PRIVATE KEY-----) "
                         "that can be read") from None


def _public(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
