"""Outside sandbox/debug the process refuses to start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SECRETS = {
    "HAOKA_SECRET_KEY": "k" * 50,
    "HAOKA_PII_KEYS": "dGVzdC1vbmx5LXBpaS1rZXktMDAwMDAwMDAwMDAwMDA=",
    "HAOKA_PII_HASH_KEY": "h",
    "HAOKA_PAYMENT_GATEWAY_SECRET": "p",
    "HAOKA_CARRIER_API_SECRET": "c",
    "HAOKA_COURIER_API_SECRET": "d",
}
LOAD = "import haoka.settings as s; print(s.PAYMENT_GATEWAY_SECRET, s.CARRIER_API_SECRET)"


def _start(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """Load the settings in a fresh process, outside sandbox, with no .env to read."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HAOKA_") and k != "DJANGO_SETTINGS_MODULE"
    }
    base |= {"HAOKA_HOME": str(tmp_path), "HAOKA_SANDBOX": "0", **env}
    return subprocess.run(
        [sys.executable, "-c", LOAD], env=base, capture_output=True, text=True, timeout=60
    )


def test_a_deployment_with_every_secret_starts_and_uses_them(tmp_path):
    started = _start(tmp_path, **SECRETS)
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["p", "c"]


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_a_deployment_missing_a_secret_stops_at_start_and_names_it(tmp_path, missing):
    env = {k: v for k, v in SECRETS.items() if k != missing}
    started = _start(tmp_path, **env)
    assert started.returncode != 0
    assert f"{missing} must be set outside sandbox/debug mode" in started.stderr


def test_the_sandbox_still_runs_on_the_simulators_shared_secret(tmp_path):
    started = _start(tmp_path, HAOKA_SANDBOX="1")
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["sandbox-secret", "sandbox-secret"]
