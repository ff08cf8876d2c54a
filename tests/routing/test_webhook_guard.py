"""Webhook URLs go to public internet addresses only (unless WEBHOOK_ALLOW_PRIVATE): refused when RevOps
saves the endpoint, and again at send time (DNS can change), where the delivery fails with the reason
and no request is made. Signing secrets are created and rotated in admin."""

from __future__ import annotations

import base64
import socket
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from expansion.models import Role
from routing.delivery import webhook_send
from routing.models import WebhookDelivery, WebhookEndpoint
from routing.webhook_guard import RefusedURL, Target, address_refusal, post, url_target
from routing.webhook_signing import secret_key
from tests.factories import AccountFactory, EQLFactory, UserFactory
from tests.routing.test_notifications import local_server
from tests.routing.test_webhooks import OTHER_SECRET, SECRET, FakeRetry

ADD_URL = "/admin/routing/webhookendpoint/add/"
CHANGELIST_URL = "/admin/routing/webhookendpoint/"
PUBLIC_IP = "93.184.215.14"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_addresses_refused(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False


@pytest.fixture
def resolves_to(monkeypatch):
    """Make ``host`` resolve to the given addresses (other names resolve as usual)."""
    real = socket.getaddrinfo
    table: dict[str, list[str]] = {}

    def fake(host, port, *args, **kwargs):
        if host not in table:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in table[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return lambda host, *addresses: table.__setitem__(host, list(addresses))


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private network"),
        ("172.16.5.4", "private network"),
        ("192.168.0.10", "private network"),
        ("fd12:3456::1", "private network"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("ff02::fb", "multicast"),
        ("ff0e::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("fec0::1", "site-local"),
        ("100.64.0.1", "not a public internet address"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private network"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:c0a8:0001::1", "private network"),
    ],
)
def test_non_public_addresses_are_refused(address, kind):
    assert kind in address_refusal(address)


@pytest.mark.parametrize("address", [PUBLIC_IP, "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert address_refusal(address) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
        ("https://10.0.0.8/hook", "10.0.0.8 is a private network address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[::1]:9000/hook", "::1 is a loopback address"),
        ("http://localhost:8000/hook", "localhost resolves to"),
        ("http://2130706433/hook", "2130706433 resolves to 127.0.0.1"),  # 127.0.0.1 as one number
    ],
)
def test_urls_on_non_public_addresses_are_refused(url, message):
    with pytest.raises(RefusedURL, match=message) as refused:
        url_target(url, allow_private=False)
    assert "WEBHOOK_ALLOW_PRIVATE=true" in str(refused.value)


def test_a_host_name_is_refused_when_any_of_its_addresses_is_private(resolves_to):
    # given
    resolves_to("crm.example.com", PUBLIC_IP, "10.20.30.40")

    # then
    with pytest.raises(RefusedURL, match=r"crm\.example\.com resolves to 10\.20\.30\.40, which is a private"):
        url_target("https://crm.example.com/hooks/eql", allow_private=False)


def test_a_public_host_is_pinned_to_the_address_that_was_checked(resolves_to):
    resolves_to("crm.example.com", PUBLIC_IP)

    assert url_target("https://crm.example.com/hooks/eql", allow_private=False) == Target(
        url="https://crm.example.com/hooks/eql", host="crm.example.com", address=PUBLIC_IP
    )


def test_private_addresses_pass_when_allowed():
    assert url_target("http://127.0.0.1:9/hook", allow_private=True).address is None


def test_a_send_connects_to_the_checked_address_not_a_new_lookup():
    # given: a host name nobody resolves, pinned to the local CRM's address
    with local_server() as crm:
        port = crm.url.split(":")[2].split("/")[0]
        target = Target(url=f"http://crm.invalid:{port}/hook", host="crm.invalid", address="127.0.0.1")

        # when
        status = post(target, b"{}", {"webhook-id": "msg_1"}, timeout=5)

    # then: it arrived, still addressed to the host name
    assert status == 200
    (request,) = crm.requests
    assert (request.path, request.headers["host"], request.body) == ("/hook", f"crm.invalid:{port}", b"{}")


@pytest.fixture
def eql():
    ae = UserFactory(role=Role.AE)
    return EQLFactory(account=AccountFactory(ae=ae), owner=ae)


def test_a_send_to_a_private_address_fails_the_delivery_without_a_request(eql):
    # given: the endpoint was saved while private addresses were allowed
    with local_server() as crm:
        endpoint = WebhookEndpoint.objects.create(name="CRM", url=crm.url, secret=SECRET)
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, eql=eql, event="eql.updated", payload={})
        retry = FakeRetry()

        # when
        result = webhook_send(webhook_delivery_id=delivery.pk, retry=retry)

    # then: failed at once, with the reason; nothing was sent or queued again
    delivery.refresh_from_db()
    assert result == "failed"
    assert (delivery.status, delivery.attempts, delivery.sent_at) == ("failed", 1, None)
    assert delivery.last_error.startswith("Refused, no request made: 127.0.0.1 is a loopback address")
    assert crm.requests == []
    assert retry.calls == []


def test_a_host_whose_dns_changed_to_a_private_address_is_refused_at_send_time(eql, resolves_to):
    # given: the CRM's name was public when saved; it now resolves to the internal network
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/hook", secret=SECRET)
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, eql=eql, event="eql.updated", payload={})
    resolves_to("crm.example.com", "192.168.1.20")

    # when
    result = webhook_send(webhook_delivery_id=delivery.pk, retry=FakeRetry())

    # then
    delivery.refresh_from_db()
    assert (result, delivery.status) == ("failed", "failed")
    assert (
        "crm.example.com resolves to 192.168.1.20, which is a private network address" in delivery.last_error
    )


@pytest.fixture
def revops(client):
    user = UserFactory(role=Role.REVOPS, is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def _form_errors(response) -> dict[str, list[str]]:
    return response.context["adminform"].form.errors


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.5/hook", "10.0.0.5 is a private network address"),
        ("http://169.254.169.254/", "169.254.169.254 is a link-local address"),
        ("http://[::1]/hook", "::1 is a loopback address"),
    ],
)
def test_admin_refuses_a_private_url_with_a_clear_message(revops, url, message):
    # when
    response = revops.post(ADD_URL, {"name": "CRM", "url": url, "active": "on", "max_attempts": 5})

    # then: the form is shown again with the reason; nothing was saved
    assert response.status_code == 200
    (error,) = _form_errors(response)["url"]
    assert error.startswith("This URL cannot receive webhooks: " + message)
    assert not WebhookEndpoint.objects.exists()


def test_admin_refuses_a_host_name_that_resolves_to_a_private_address(revops, resolves_to):
    resolves_to("crm.corp.example", "10.9.8.7")

    response = revops.post(
        ADD_URL, {"name": "CRM", "url": "https://crm.corp.example/hook", "active": "on", "max_attempts": 5}
    )

    (error,) = _form_errors(response)["url"]
    assert "crm.corp.example resolves to 10.9.8.7, which is a private network address" in error
    assert not WebhookEndpoint.objects.exists()


def test_admin_accepts_a_private_url_when_allowed(revops, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True

    response = revops.post(
        ADD_URL, {"name": "CRM", "url": "http://10.0.0.5/hook", "active": "on", "max_attempts": 5}
    )

    assert response.status_code == 302
    assert WebhookEndpoint.objects.get().url == "http://10.0.0.5/hook"


def test_admin_generates_a_secret_when_none_is_given(revops, resolves_to):
    # given
    resolves_to("crm.example.com", PUBLIC_IP)

    # when
    response = revops.post(
        ADD_URL, {"name": "CRM", "url": "https://crm.example.com/hook", "active": "on", "max_attempts": 5}
    )

    # then
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert len(secret_key(endpoint.secret)) == 32
    assert endpoint.previous_secret == ""


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("plain-text-secret", "starts with whsec_"),
        ("whsec_not base64!", "not valid base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "holds 5 bytes; use 24 to 64"),
    ],
)
def test_admin_refuses_a_malformed_or_weak_secret(revops, resolves_to, secret, message):
    resolves_to("crm.example.com", PUBLIC_IP)

    response = revops.post(
        ADD_URL,
        {
            "name": "CRM",
            "url": "https://crm.example.com/hook",
            "active": "on",
            "max_attempts": 5,
            "secret": secret,
        },
    )

    (error,) = _form_errors(response)["secret"]
    assert message in error
    assert not WebhookEndpoint.objects.exists()


def test_rotating_keeps_the_old_secret_signing_until_it_is_retired(revops):
    # given
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/hook", secret=SECRET)

    # when: RevOps rotates
    response = revops.post(
        CHANGELIST_URL, {"action": "rotate_secret", "_selected_action": [endpoint.pk]}, follow=True
    )

    # then: a new current secret, the old one kept as previous, both sign
    endpoint.refresh_from_db()
    assert endpoint.secret != SECRET
    assert len(secret_key(endpoint.secret)) == 32
    assert endpoint.previous_secret == SECRET
    assert endpoint.secret_rotated_at is not None
    assert endpoint.signing_secrets() == [endpoint.secret, SECRET]
    assert "New signing secret for CRM" in response.content.decode()

    # when: the receiver has the new secret, and RevOps retires the old one
    revops.post(CHANGELIST_URL, {"action": "retire_previous_secret", "_selected_action": [endpoint.pk]})

    # then
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == ""
    assert endpoint.signing_secrets() == [endpoint.secret]


def test_admin_pages_show_the_rotation_state(revops):
    # given: one endpoint mid-rotation, one not
    rotating = WebhookEndpoint.objects.create(
        name="CRM", url="https://crm.example.com/hook", secret=OTHER_SECRET, previous_secret=SECRET
    )
    WebhookEndpoint.objects.filter(pk=rotating.pk).update(secret_rotated_at="2026-03-02T09:30:00Z")
    WebhookEndpoint.objects.create(name="BI", url="https://bi.example.com/hook", secret=SECRET)

    # when
    changelist = revops.get(CHANGELIST_URL).content.decode()
    change = revops.get(f"{CHANGELIST_URL}{rotating.pk}/change/")

    # then
    assert "current + previous (rotated 2026-03-02 09:30)" in changelist
    assert "current only" in changelist
    assert change.status_code == 200
    assert SECRET in change.content.decode()  # the previous secret, read-only
    assert "previous_secret" not in change.context["adminform"].form.fields


def test_a_redirect_is_a_failed_attempt_and_is_not_followed():
    # given: an endpoint that redirects to another URL on the same server
    followed: list[str] = []

    class Redirecting(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/internal")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            followed.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        # when / then: pinned or not, the 302 is an error and nothing fetches the Location
        for target in (
            Target(url=f"http://127.0.0.1:{port}/hook", host="127.0.0.1", address=None),
            Target(url=f"http://crm.invalid:{port}/hook", host="crm.invalid", address="127.0.0.1"),
        ):
            with pytest.raises(urllib.error.HTTPError, match="302"):
                post(target, b"{}", {}, timeout=5)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert followed == []
