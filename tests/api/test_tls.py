"""TLS and mutual TLS over real connections, and gRPC message size limits.

A throwaway PKI (a CA, a server certificate for 127.0.0.1 and localhost, a client certificate,
and a second CA with its own client) is made with `cryptography`; `identity serve` runs as a
subprocess with it, as users run it; GraphQL is called over HTTPS with httpx and gRPC with
grpc.ssl_channel_credentials, both verifying the server against the CA. Plaintext, a missing
client certificate and certificates from the other CA are refused (docs/architecture.md,
"TLS").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from grpc_health.v1 import health_pb2, health_pb2_grpc

from identity.api.auth.authenticator import DEVELOPMENT_MODE
from identity.api.grpc.server import start_server
from identity.api.tls import expired, load_tls
from identity.cli import main
from identity.cli.serve import tls_line
from identity.config import Settings
from identity.service import IdentityService
from identity.v1 import identity_pb2 as pb
from identity.v1 import identity_pb2_grpc
from tests.tls_fixtures import Pki, TlsServer, issue, make_ca, make_pki, serve_over_tls, trusting

CALL_TIMEOUT_S = 10


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


# --- `identity serve` over TLS -------------------------------------------------------------------


@pytest.fixture(scope="module")
def mtls_server(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    with serve_over_tls(pki, tmp_path_factory.mktemp("mtls"), mutual=True) as server:
        yield server


@pytest.fixture(scope="module")
def tls_server(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    with serve_over_tls(pki, tmp_path_factory.mktemp("tls"), mutual=False) as server:
        yield server


EVENT = {"eventId": "tls-1", "type": "identify", "timestamp": "2024-05-01T12:00:00Z",
         "source": "web", "identifiers": [{"kind": "email", "value": "ada@northwind.org"},
                                          {"kind": "customer_id", "value": "C-TLS-1"}]}
INGEST = ("mutation($e: [EventInput!]!) { ingestEvents(events: $e) { results { status "
          "profileId } } }")


def grpc_resolve(port: int, credentials: grpc.ChannelCredentials | None,
                 customer_id: str = "C-TLS-1") -> pb.ResolveResponse:
    target = f"127.0.0.1:{port}"
    with (grpc.insecure_channel(target) if credentials is None else
          grpc.secure_channel(target, credentials)) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        answer: pb.ResolveResponse = stub.Resolve(
            pb.ResolveRequest(identifiers=[pb.Identifier(kind="customer_id",
                                                         value=customer_id)]),
            timeout=CALL_TIMEOUT_S)
        return answer


def refused(port: int, credentials: grpc.ChannelCredentials | None) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        grpc_resolve(port, credentials)
    error: grpc.RpcError = caught.value
    assert error.code() is grpc.StatusCode.UNAVAILABLE, error
    return error


@pytest.mark.e2e
def test_graphql_over_https_verified_against_the_ca_and_grpc_over_mutual_tls(
    mtls_server: TlsServer, pki: Pki,
) -> None:
    """What is ingested over HTTPS is found over mutual-TLS gRPC: both are the real service.
    HTTP asks for no client certificate, even with a client CA configured."""
    with httpx.Client(base_url=mtls_server.url, verify=trusting(pki.ca), timeout=10) as http:
        response = http.post("/graphql", json={"query": INGEST, "variables": {"e": [EVENT]}})
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    (result,) = response.json()["data"]["ingestEvents"]["results"]
    assert result["status"] == "ACCEPTED"

    credentials = grpc.ssl_channel_credentials(pki.ca.read_bytes(), *pki.client.pair())
    found = grpc_resolve(mtls_server.grpc_port, credentials)
    assert found.profile_id == result["profileId"]


@pytest.mark.e2e
def test_the_banner_says_https_and_mutual_tls(mtls_server: TlsServer, pki: Pki) -> None:
    banner = mtls_server.banner.read_text(errors="replace")
    assert f"GraphiQL at https://127.0.0.1:{mtls_server.port}/graphql" in banner
    assert "http://" not in banner
    assert f"(mutual TLS: client certificates from {pki.ca})" in banner
    assert f"TLS: certificate {pki.server.certificate}, valid until" in banner
    assert "PRIVATE KEY" not in banner


@pytest.mark.e2e
def test_plaintext_http_is_refused(mtls_server: TlsServer) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{mtls_server.port}/healthz", timeout=CALL_TIMEOUT_S)


@pytest.mark.e2e
def test_https_refuses_a_client_that_does_not_trust_the_ca(mtls_server: TlsServer,
                                                           pki: Pki) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{mtls_server.url}/healthz", verify=trusting(pki.other_ca),
                  timeout=CALL_TIMEOUT_S)


@pytest.mark.e2e
def test_mutual_tls_refuses_plaintext_no_client_certificate_and_another_cas(
    mtls_server: TlsServer, pki: Pki,
) -> None:
    ca = pki.ca.read_bytes()
    refused(mtls_server.grpc_port, None)  # plaintext
    refused(mtls_server.grpc_port, grpc.ssl_channel_credentials(ca))  # no client certificate
    refused(mtls_server.grpc_port,  # a client certificate the client CA did not issue
            grpc.ssl_channel_credentials(ca, *pki.other_client.pair()))
    # and the client refuses a server it does not trust
    refused(mtls_server.grpc_port,
            grpc.ssl_channel_credentials(pki.other_ca.read_bytes(), *pki.client.pair()))


@pytest.mark.e2e
def test_tls_without_a_client_ca_serves_grpc_to_any_client_that_trusts_the_server(
    tls_server: TlsServer, pki: Pki,
) -> None:
    found = grpc_resolve(tls_server.grpc_port, grpc.ssl_channel_credentials(pki.ca.read_bytes()),
                         customer_id="C-unknown")
    assert found.profile_id == ""  # answered: nobody holds that id on this fresh store
    refused(tls_server.grpc_port, None)
    banner = tls_server.banner.read_text(errors="replace")
    assert f"127.0.0.1:{tls_server.grpc_port} (TLS);" in banner and "mutual" not in banner


# --- the settings, checked at start --------------------------------------------------------------


def settings_error(**tls: str) -> str:
    with pytest.raises(ValueError) as caught:
        Settings(**tls)  # type: ignore[arg-type]
    return str(caught.value)


def test_no_certificate_is_plaintext() -> None:
    assert Settings().tls() is None


def test_a_certificate_without_its_key_and_the_reverse_name_both_settings(pki: Pki) -> None:
    message = settings_error(tls_cert_file=str(pki.server.certificate))
    assert "IDENTITY_TLS_CERT_FILE is set without IDENTITY_TLS_KEY_FILE" in message
    message = settings_error(tls_key_file=str(pki.server.key))
    assert "IDENTITY_TLS_KEY_FILE is set without IDENTITY_TLS_CERT_FILE" in message


def test_a_client_ca_alone_is_refused(pki: Pki) -> None:
    message = settings_error(tls_client_ca_file=str(pki.ca))
    assert message.startswith("IDENTITY_TLS_CLIENT_CA_FILE is set without "
                              "IDENTITY_TLS_CERT_FILE and IDENTITY_TLS_KEY_FILE")


@pytest.mark.parametrize("setting", ["tls_cert_file", "tls_key_file", "tls_client_ca_file"])
def test_a_missing_file_is_named_with_its_setting(pki: Pki, tmp_path: Path, setting: str) -> None:
    files = {"tls_cert_file": str(pki.server.certificate), "tls_key_file": str(pki.server.key),
             "tls_client_ca_file": str(pki.ca)}
    files[setting] = str(tmp_path / "missing.pem")
    message = settings_error(**files)
    assert message == (f"IDENTITY_{setting.upper()} '{tmp_path / 'missing.pem'}' cannot be "
                       "read: No such file or directory")


def test_a_folder_given_for_a_file_is_named(pki: Pki, tmp_path: Path) -> None:
    message = settings_error(tls_cert_file=str(tmp_path), tls_key_file=str(pki.server.key))
    assert message == f"IDENTITY_TLS_CERT_FILE '{tmp_path}' cannot be read: Is a directory"


def test_a_path_holding_a_nul_is_named(pki: Pki) -> None:
    message = settings_error(tls_cert_file="cert\x00.pem", tls_key_file=str(pki.server.key))
    assert message == ("IDENTITY_TLS_CERT_FILE 'cert\\x00.pem' is not a file path: it holds "
                       "a NUL character")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_an_unreadable_key_is_named(pki: Pki, tmp_path: Path) -> None:
    key = tmp_path / "server.key"
    key.write_bytes(pki.server.key.read_bytes())
    key.chmod(0)
    message = settings_error(tls_cert_file=str(pki.server.certificate), tls_key_file=str(key))
    assert message == f"IDENTITY_TLS_KEY_FILE '{key}' cannot be read: Permission denied"


def test_a_key_that_is_not_the_certificates_is_refused_without_showing_it(pki: Pki) -> None:
    message = settings_error(tls_cert_file=str(pki.server.certificate),
                             tls_key_file=str(pki.client.key))
    assert message.startswith(f"IDENTITY_TLS_KEY_FILE '{pki.client.key}' is not the key of the "
                              f"certificate in IDENTITY_TLS_CERT_FILE")
    assert "PRIVATE" not in message and pki.client.key.read_text().splitlines()[1] not in message


def test_files_swapped_or_not_pem_are_named(pki: Pki, tmp_path: Path) -> None:
    swapped = settings_error(tls_cert_file=str(pki.server.key),
                             tls_key_file=str(pki.server.certificate))
    assert swapped == (f"IDENTITY_TLS_CERT_FILE '{pki.server.key}' holds no PEM certificate "
                       "(-----BEGIN CERTIFICATE-----)")
    assert pki.server.key.read_text().splitlines()[1] not in swapped
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    message = settings_error(tls_cert_file=str(pki.server.certificate),
                             tls_key_file=str(pki.server.key), tls_client_ca_file=str(junk))
    assert message.startswith(f"IDENTITY_TLS_CLIENT_CA_FILE '{junk}' holds no PEM certificate")
    message = settings_error(tls_cert_file=str(pki.server.certificate),
                             tls_key_file=str(junk))
    assert message.startswith(f"IDENTITY_TLS_KEY_FILE '{junk}' holds no PEM private key")


def test_an_encrypted_key_is_refused(pki: Pki, tmp_path: Path) -> None:
    key = serialization.load_pem_private_key(pki.server.key.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"northwind-passphrase")))
    message = settings_error(tls_cert_file=str(pki.server.certificate),
                             tls_key_file=str(encrypted))
    assert message.startswith(f"IDENTITY_TLS_KEY_FILE '{encrypted}' is encrypted")


def test_identity_serve_stops_at_start_naming_the_setting(
    pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Before the store opens or a port is bound: exit status 2 and the reason."""
    status = main(["serve", "--database", str(tmp_path / "graph.db"),
                   "--tls-cert-file", str(pki.server.certificate),
                   "--tls-key-file", str(pki.other_server.key)])
    assert status == 2
    error = capsys.readouterr().err
    assert error.startswith("identity serve: IDENTITY_TLS_KEY_FILE"), error
    assert not (tmp_path / "graph.db").exists()


def test_the_settings_read_the_environment(pki: Pki) -> None:
    settings = Settings.from_env({"IDENTITY_TLS_CERT_FILE": str(pki.server.certificate),
                                  "IDENTITY_TLS_KEY_FILE": str(pki.server.key),
                                  "IDENTITY_TLS_CLIENT_CA_FILE": str(pki.ca)})
    tls = settings.tls()
    assert tls is not None and tls.mutual
    assert tls.client_ca == pki.ca.read_bytes()
    assert tls.uvicorn_options() == {"ssl_certfile": str(pki.server.certificate),
                                     "ssl_keyfile": str(pki.server.key)}
    assert "PRIVATE" not in repr(tls)


def test_an_expired_certificate_is_loud_in_the_banner(pki: Pki, tmp_path: Path) -> None:
    tls = load_tls(str(pki.server.certificate), str(pki.server.key), None)
    assert tls is not None and not expired(tls)
    assert "valid until" in tls_line(tls)
    assert expired(tls, now=tls.expires + timedelta(seconds=1))
    ca = make_ca(tmp_path, "short-ca")
    stale = issue(tmp_path, "stale", ca, server=True, valid_days=-1)
    old = load_tls(str(stale.certificate), str(stale.key), None)
    assert old is not None
    assert "EXPIRED" in tls_line(old)


# --- gRPC message size limits --------------------------------------------------------------------


def events(count: int, trait_bytes: int = 0) -> list[pb.Event]:
    return [pb.Event(event_id=f"size-{i}", type="identify", timestamp="2024-05-01T12:00:00Z",
                     source="web", identifiers=[pb.Identifier(kind="customer_id",
                                                              value=f"C-{i:05d}")],
                     traits={"note": "x" * trait_bytes} if trait_bytes else {})
            for i in range(count)]


async def test_a_request_over_the_receive_limit_is_resource_exhausted(
    service: IdentityService,
) -> None:
    server = await start_server(service, "127.0.0.1:0", authenticator=DEVELOPMENT_MODE,
                                max_receive_bytes=64 * 1024)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = identity_pb2_grpc.IdentityServiceStub(channel)
            big = pb.IngestEventsRequest(events=events(8, trait_bytes=10_000))
            assert big.ByteSize() > 64 * 1024
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.IngestEvents(big, timeout=CALL_TIMEOUT_S)
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "larger than max" in (caught.value.details() or "")
            assert f"{64 * 1024}" in (caught.value.details() or "")
            # below the limit the same call is served
            small = pb.IngestEventsRequest(events=events(2))
            answer = await stub.IngestEvents(small, timeout=CALL_TIMEOUT_S)
            assert len(answer.results) == 2
    finally:
        await server.stop(0)


async def test_an_answer_over_the_send_limit_is_resource_exhausted(
    service: IdentityService,
) -> None:
    server = await start_server(service, "127.0.0.1:0", authenticator=DEVELOPMENT_MODE,
                                max_send_bytes=1024)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = identity_pb2_grpc.IdentityServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.IngestEvents(pb.IngestEventsRequest(events=events(40)),
                                        timeout=CALL_TIMEOUT_S)
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            health: Any = health_pb2_grpc.HealthStub(channel)  # a small answer still goes out
            await health.Check(health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT_S)
    finally:
        await server.stop(0)


def test_the_message_limits_default_to_the_body_limit_and_grpcs_client_default() -> None:
    settings = Settings()
    assert settings.grpc_max_receive_bytes == settings.max_body_bytes == 1_048_576
    assert settings.grpc_max_send_bytes == 4 * 1_048_576
    assert Settings.from_env({"IDENTITY_GRPC_MAX_RECEIVE_BYTES": "2097152"}
                             ).grpc_max_receive_bytes == 2_097_152
    with pytest.raises(ValueError, match="IDENTITY_GRPC_MAX_SEND_BYTES must be at least 1024"):
        Settings.from_env({"IDENTITY_GRPC_MAX_SEND_BYTES": "10"})
