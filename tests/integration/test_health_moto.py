"""The health handler against a moto table and the real PostgreSQL server of the test run."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto import mock_aws

from functions.health import handler as health_handler
from tests.support.lambda_context import lambda_context
from tests.support.postgres import free_port
from tests.support.read_side import create_order_table, region_environment

REGION = "ap-southeast-1"
TABLE = "orders"


@pytest.fixture
def region(monkeypatch: pytest.MonkeyPatch, postgres_dsn: str) -> Iterator[None]:
    """A moto table, a real database, and the health function's environment pointing at both."""
    env = {**region_environment(postgres_dsn, REGION, TABLE), "HEALTH_DEADLINE_MS": "3000"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        create_order_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        health_handler.build_health.cache_clear()
        yield
        health_handler.build_health.cache_clear()


def check() -> tuple[int, Any]:
    response = health_handler.handler({"routeKey": "GET /health"}, lambda_context())
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.postgres
def test_a_region_with_its_table_and_database_up_is_200(region):
    # Given the local table and the local database both reachable
    # When /health is called
    status, body = check()
    # Then it is 200 and says which region and role answered
    assert status == 200
    assert body["status"] == "ok"
    assert body["region"] == REGION
    assert body["role"] == "secondary"
    assert set(body["checks"]) == {"table", "database"}


@pytest.mark.postgres
def test_a_region_whose_table_is_unreachable_is_503(region, monkeypatch):
    # Given the function pointed at a table that does not exist here
    monkeypatch.setenv("TABLE_NAME", "gone")
    health_handler.build_health.cache_clear()
    # When /health is called
    status, body = check()
    # Then it is 503 and blames the table
    assert status == 503
    assert body["checks"]["table"]["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.postgres
def test_a_region_whose_database_is_unreachable_is_503(region, monkeypatch):
    # Given the function pointed at a port where no database listens
    monkeypatch.setenv("DB_PORT", str(free_port()))
    health_handler.build_health.cache_clear()
    # When /health is called
    status, body = check()
    # Then it is 503 and blames the database
    assert status == 503
    assert body["checks"]["database"]["status"] == "fail"
    assert body["checks"]["table"]["status"] == "ok"


@pytest.mark.postgres
def test_a_region_whose_database_is_not_required_stays_200_when_it_is_unreachable(
    region, monkeypatch
):
    # Given HEALTH_DATABASE_REQUIRED=false and no database listening
    monkeypatch.setenv("HEALTH_DATABASE_REQUIRED", "false")
    monkeypatch.setenv("DB_PORT", str(free_port()))
    health_handler.build_health.cache_clear()
    # When /health is called
    status, body = check()
    # Then the region stays in DNS (200), and the body still says the database failed
    assert status == 200
    assert body["checks"]["database"]["status"] == "fail"
    assert body["checks"]["database"]["informational"] is True


@pytest.mark.postgres
def test_a_malformed_database_required_flag_is_refused_naming_it(region, monkeypatch):
    # Given a typo in the flag
    monkeypatch.setenv("HEALTH_DATABASE_REQUIRED", "no")
    health_handler.build_health.cache_clear()
    # When the function starts
    # Then it refuses, naming the variable, instead of guessing
    with pytest.raises(RuntimeError, match="HEALTH_DATABASE_REQUIRED"):
        check()


@contextmanager
def impostor_database() -> Iterator[tuple[int, list[bytes]]]:
    """A server on 127.0.0.1 that accepts PostgreSQL's SSLRequest and presents a self-signed
    certificate (not one of the RDS CAs); it records what a client sends once TLS is up."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    with tempfile.TemporaryDirectory() as directory:
        cert_path, key_path = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert_path, key_path)
        listener = socket.create_server(("127.0.0.1", 0))
        received: list[bytes] = []

        def serve() -> None:
            with contextlib.suppress(OSError):
                connection, _ = listener.accept()
                with connection:
                    connection.settimeout(3)
                    connection.recv(8)  # SSLRequest
                    connection.sendall(b"S")
                    with tls.wrap_socket(connection, server_side=True) as secured:
                        received.append(secured.recv(4096))  # the StartupMessage, then more

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield listener.getsockname()[1], received
        finally:
            listener.close()
            thread.join(timeout=5)


@pytest.mark.postgres
def test_the_database_probe_refuses_a_server_whose_certificate_is_not_from_the_rds_cas(
    region, monkeypatch
):
    # Given IAM authentication (so TLS), no DB_CA_BUNDLE, and a server with a self-signed cert
    monkeypatch.setenv("DB_IAM_AUTH", "true")
    monkeypatch.delenv("DB_CA_BUNDLE", raising=False)
    with impostor_database() as (port, received):
        monkeypatch.setenv("DB_READER_HOST", "127.0.0.1")
        monkeypatch.setenv("DB_PORT", str(port))
        health_handler.build_health.cache_clear()
        # When /health is called
        status, body = check()
    # Then the database check fails and the impostor never saw the login (nor the IAM token)
    assert status == 503
    assert body["checks"]["database"]["status"] == "fail"
    assert received == []
