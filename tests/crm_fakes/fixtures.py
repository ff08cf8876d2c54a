"""pytest fixtures ``salesforce_fake`` and ``hubspot_fake``: each a fresh server on 127.0.0.1 (random port),
started before the test and stopped after it. Salesforce is served over HTTPS with a throwaway
certificate for 127.0.0.1, trusted through ``REQUESTS_CA_BUNDLE`` for the test's duration."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.crm_fakes.hubspot import HubSpotFake
from tests.crm_fakes.salesforce import SalesforceFake


def make_certificate(folder: Path) -> tuple[str, str]:
    """A self-signed certificate and key for 127.0.0.1 in ``folder`` (never committed)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


def salesforce_server(cert_path: str, key_path: str) -> HTTPServer:
    """An HTTPS server on 127.0.0.1 (random port) for the Salesforce fake, started."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    return server


@pytest.fixture(scope="session")
def crm_fake_certificate(tmp_path_factory) -> tuple[str, str]:
    return make_certificate(tmp_path_factory.mktemp("crm-fake-tls"))


@pytest.fixture
def salesforce_fake(crm_fake_certificate, monkeypatch):
    cert_path, key_path = crm_fake_certificate
    server = salesforce_server(cert_path, key_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert_path)
    fake = SalesforceFake(server)
    fake.ca_bundle = cert_path
    yield fake
    server.clear()
    server.stop()


@pytest.fixture
def hubspot_fake():
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield HubSpotFake(server)
    server.clear()
    server.stop()
