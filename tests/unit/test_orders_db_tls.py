"""TLS to Aurora: the functions trust the Amazon RDS certificate authorities they ship with."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from functions.orders.db import DatabaseSettings, tls_context

AURORA = {"DB_HOST": "cluster.rds.amazonaws.com", "DB_NAME": "orders", "DB_USER": "orders_app"}


def subjects(context: ssl.SSLContext) -> list[str]:
    return [
        value
        for cert in context.get_ca_certs()
        for rdn in cert["subject"]
        for name, value in rdn
        if name in ("commonName", "organizationalUnitName", "organizationName")
    ]


def test_the_default_settings_verify_aurora_against_the_shipped_rds_certificate_authorities() -> (
    None
):
    # Given the environment the stack gives the functions: no DB_CA_BUNDLE
    settings = DatabaseSettings.from_env(AURORA)
    # When the TLS context of a login is built
    context = tls_context(settings.ca_bundle)
    # Then it trusts the Amazon RDS CAs, and verifies the certificate and the host name
    assert any("Amazon RDS" in subject for subject in subjects(context))
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_the_bundle_is_found_from_the_package_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a process started elsewhere, as Lambda starts it in /var/task
    monkeypatch.chdir(tmp_path)
    # When the default bundle is used / Then it is the file inside the functions package
    bundle = Path(DatabaseSettings.from_env(AURORA).ca_bundle)
    assert bundle.is_absolute() and bundle.is_file()
    assert bundle.parts[-3:] == ("functions", "certs", "rds-ca-bundle.pem")


def test_db_ca_bundle_replaces_the_shipped_bundle_and_verification_stays_on(
    tmp_path: Path,
) -> None:
    # Given DB_CA_BUNDLE naming another bundle (here a copy of the system's)
    other = ssl.get_default_verify_paths().cafile
    if other is None:
        pytest.skip("no system CA file to stand in for another bundle")
    # When the settings and the context are built
    settings = DatabaseSettings.from_env({**AURORA, "DB_CA_BUNDLE": other})
    context = tls_context(settings.ca_bundle)
    # Then that bundle is the one trusted, and verification is still required
    assert settings.ca_bundle == other
    assert not any("Amazon RDS" in subject for subject in subjects(context))
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
