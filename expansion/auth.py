"""Sign-in with throttling: repeated failures for one email or one address are refused for a while."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

#: Failed attempts allowed per email and per client address within the window.
MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


def _keys(request: HttpRequest) -> list[str]:
    email = (request.POST.get("username") or "").strip().lower()
    address = request.META.get("REMOTE_ADDR", "")
    return [f"login-fail:user:{email}", f"login-fail:addr:{address}"]


def _blocked(request: HttpRequest) -> bool:
    return any((cache.get(key) or 0) >= MAX_FAILURES for key in _keys(request))


def _record_failure(request: HttpRequest) -> None:
    for key in _keys(request):
        cache.add(key, 0, WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, WINDOW_SECONDS)


class ThrottledLoginView(auth_views.LoginView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if _blocked(request):
            form = self.get_form()
            form.add_error(None, "Too many failed sign-ins. Wait 15 minutes and try again.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        response = super().post(request, *args, **kwargs)
        if not request.user.is_authenticated:
            _record_failure(request)
        return response
