"""The client's address: X-Forwarded-For is believed only from configured trusted proxies,
right to left, and never crashes on garbage."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from haoka.core import clientip
from haoka.core.clientip import client_ip

PROXY = "10.0.0.2"


def _request(remote: str | None = PROXY, forwarded: str | None = None):
    meta = {}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/api/v1/me", **meta)
    if remote is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote
    return request


@pytest.fixture
def behind_proxies(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request(PROXY, "203.0.113.5")) == PROXY


def test_an_untrusted_peers_forwarded_header_is_ignored(behind_proxies):
    assert client_ip(_request("198.51.100.9", "203.0.113.5")) == "198.51.100.9"


def test_a_trusted_proxy_names_the_client_it_forwards_for(behind_proxies):
    assert client_ip(_request(PROXY, "203.0.113.5")) == "203.0.113.5"


def test_a_chain_of_trusted_proxies_is_walked_right_to_left(behind_proxies):
    assert client_ip(_request(PROXY, "203.0.113.5, 192.0.2.1, 10.9.9.9")) == "203.0.113.5"


def test_addresses_the_client_wrote_left_of_its_own_are_ignored(behind_proxies):
    # The client sent "X-Forwarded-For: 1.1.1.1, 10.0.0.3"; the proxy appended what it saw.
    assert client_ip(_request(PROXY, "1.1.1.1, 10.0.0.3, 203.0.113.5")) == "203.0.113.5"


def test_a_request_from_the_proxy_itself_is_the_proxys(behind_proxies):
    assert client_ip(_request(PROXY)) == PROXY
    assert client_ip(_request(PROXY, "")) == PROXY
    assert client_ip(_request(PROXY, "10.0.0.9")) == "10.0.0.9"  # only proxies: the farthest


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("garbage", PROXY),
        ("garbage, 203.0.113.5", "203.0.113.5"),
        # A malformed hop in the trusted part: what lies left of it cannot be vouched for.
        ("1.1.1.1, unknown", PROXY),
        ("1.1.1.1, unknown, 10.0.0.3", "10.0.0.3"),
        (" , ,", PROXY),
        ("203.0.113.5;drop table", PROXY),
        ("999.1.1.1", PROXY),
        ("\x00\n", PROXY),
    ],
)
def test_malformed_entries_are_never_taken_for_a_client(behind_proxies, forwarded, expected):
    assert client_ip(_request(PROXY, forwarded)) == expected


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.5:41234", "203.0.113.5"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8:0::1", "2001:db8::1"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
    ],
)
def test_ports_brackets_and_mapped_addresses_are_understood(behind_proxies, forwarded, expected):
    assert client_ip(_request(PROXY, forwarded)) == expected


def test_a_mapped_peer_address_is_matched_against_ipv4_proxies(behind_proxies):
    assert client_ip(_request("::ffff:10.0.0.2", "203.0.113.5")) == "203.0.113.5"


def test_a_missing_or_odd_peer_address_is_not_an_error(behind_proxies):
    assert client_ip(_request(None, "203.0.113.5")) == "unknown"
    assert client_ip(_request("", "203.0.113.5")) == "unknown"
    assert client_ip(_request("unix-socket", "203.0.113.5")) == "unix-socket"


def test_a_malformed_trusted_proxy_setting_is_refused(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "proxy.example"]
    with pytest.raises(ImproperlyConfigured, match=r"proxy\.example"):
        clientip.trusted_networks()


def _start(proxies: str) -> subprocess.CompletedProcess:
    """Start Django in a fresh process with ``HAOKA_TRUSTED_PROXIES`` set."""
    env = {**os.environ, "HAOKA_TRUSTED_PROXIES": proxies}
    env["DJANGO_SETTINGS_MODULE"] = "haoka.settings_test"
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.TRUSTED_PROXIES)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_trusted_proxies_come_from_the_environment_comma_separated():
    started = _start(" 10.0.0.0/8, 192.0.2.1,,")
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "['10.0.0.0/8', '192.0.2.1']"


def test_a_malformed_trusted_proxy_stops_the_start_and_is_named():
    started = _start("10.0.0.0/8,proxy.example")
    assert started.returncode != 0
    assert "HAOKA_TRUSTED_PROXIES: 'proxy.example'" in started.stderr
