"""Outbound posts (routing.delivery): only http and https URLs are ever opened."""

from __future__ import annotations

import pytest

from routing.delivery import DeliveryFailed, _post_json


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/hook", "gopher://x", "hooks/slack"])
def test_a_url_that_is_not_http_is_refused_without_opening_it(url):
    with pytest.raises(DeliveryFailed) as excinfo:
        _post_json(url, b"{}", {}, timeout=1)

    assert excinfo.value.final is True
    assert "only http and https URLs are allowed" in str(excinfo.value)
