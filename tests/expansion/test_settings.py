"""Settings read from the environment: debug mode only when asked for, a real key otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"


def _settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DJANGO_DEBUG", "DJANGO_SECRET_KEY"}}
    base |= {"DJANGO_SETTINGS_MODULE": "expansion.settings", "EXPANSION_VAR_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )


def test_without_django_debug_debug_is_off_and_a_secret_key_is_required(tmp_path):
    result = _settings(tmp_path)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "DJANGO_DEBUG=true" in result.stderr  # says how to run a development machine


def test_without_django_debug_and_with_a_key_debug_is_off(tmp_path):
    result = _settings(tmp_path, DJANGO_SECRET_KEY="k" * 50, ATTRIBUTION_CHAIN_KEY="c" * 64)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "k" * 50]


def test_django_debug_true_runs_with_the_development_key(tmp_path):
    result = _settings(tmp_path, DJANGO_DEBUG="true")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "True"
