"""TLS to Aurora: the Amazon RDS certificate authorities the functions ship, and the context.

Imports only the standard library, so the health probe can use it without a database driver.
"""

from __future__ import annotations

import ssl
from pathlib import Path

# Resolved from this file, so it is found wherever the functions package is unpacked (the
# Lambda archive holds functions/certs next to functions/orders).
RDS_CA_BUNDLE = str(Path(__file__).resolve().parents[1] / "certs" / "rds-ca-bundle.pem")


def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """A TLS context that verifies the server against ``ca_bundle`` (default: the RDS CAs).

    Verification is never turned off: the certificate must chain to the bundle and name the
    host. Every database login uses it; the health probe can too (no driver imported).
    """
    context = ssl.create_default_context(cafile=ca_bundle or RDS_CA_BUNDLE)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context
