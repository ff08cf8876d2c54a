"""Sign-in lockout (django-axes): repeated failures lock out one email from one client address.

Failures are counted per (email, client address) pair, so one person's typos never lock out colleagues
behind the same company NAT or reverse proxy, and a guesser at one address cannot lock a user out of
every other address. Attempts are stored in the database (admin: *Axes*); ``manage.py axes_reset``
or deleting the access attempt in admin unlocks.
"""

from __future__ import annotations

import ipaddress

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

LOCKOUT_MESSAGE = "Too many failed sign-ins. Wait 15 minutes and try again."


def client_address(remote_addr: str, forwarded_for: str, trusted_proxies: int) -> str:
    """The address the request came from, behind ``trusted_proxies`` reverse proxies.

    Each trusted proxy appends the address it received the request from to ``X-Forwarded-For``, so
    the client is the ``trusted_proxies``-th entry from the right; anything left of it is whatever the
    client chose to send. Without trusted proxies, or when the header is shorter than the chain (the
    request did not come through the proxies) or the entry is not an address, ``REMOTE_ADDR`` counts.
    """
    if trusted_proxies <= 0:
        return remote_addr
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    if len(hops) < trusted_proxies:
        return remote_addr
    candidate = hops[-trusted_proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr


def client_ip(request: HttpRequest) -> str:
    """AXES_CLIENT_IP_CALLABLE: the client address with the configured number of trusted proxies."""
    return client_address(
        request.META.get("REMOTE_ADDR", ""),
        request.META.get("HTTP_X_FORWARDED_FOR", ""),
        settings.TRUSTED_PROXY_COUNT,
    )


def sign_in_name(request: HttpRequest, credentials: dict | None) -> str:
    """AXES_USERNAME_CALLABLE: the email as typed, trimmed and lower-cased (``Maya@X`` is ``maya@x``)."""
    name = (credentials or {}).get("username")
    if name is None:
        name = request.POST.get("username", "")
    return str(name).strip().lower()


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in form again, saying why and for how long, with 429."""
    form = AuthenticationForm(request, initial={"username": sign_in_name(request, credentials)})
    context = {"form": form, "locked_out": LOCKOUT_MESSAGE, "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)


class LockoutBackend(AxesStandaloneBackend):
    """Refuses sign-ins of a locked-out (email, address) pair; the next backend checks the password.

    ``authenticate()`` without a request (a shell, a management command) is not a web sign-in and is
    neither counted nor refused.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
