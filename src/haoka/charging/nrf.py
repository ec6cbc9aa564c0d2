"""The CHF's registration with the NRF (3GPP TS 29.510 Nnrf_NFManagement): the NF profile
(nfType CHF, one service ``nchf-convergedcharging`` v3 where ``PUBLIC_BASE_URL`` says the
SMFs reach it), registered when ``haoka serve`` starts, kept alive by a heartbeat at the
``heartBeatTimer`` the NRF answers, deregistered when serve stops.

It runs in a process of its own that ``haoka serve`` spawns before forking its workers and
stops on its way out (:func:`run_beside_server`): one registration per CHF however many
workers, not in ``haoka worker`` (the registration says the Nchf endpoint is up: it lives and
dies with the server), and never a thread of the process that forks (see there why). An NRF
that does not answer is retried (1 s doubling to 30 s) without holding up serving; a
heartbeat the NRF answers 404 to (it forgot us: restarted, or our heartbeat came too late)
registers again.
``HAOKA_NRF_URL`` unset: nothing runs. The NRF is spoken to as network functions speak,
HTTP/2 (cleartext with prior knowledge for ``http://``).
"""

from __future__ import annotations

import ipaddress
import os
import signal
import threading
from typing import Any
from urllib.parse import urlsplit

import django
import httpx
import structlog
from django.conf import settings

from haoka.charging.accesstoken import NF_TYPE, SERVICE

log = structlog.get_logger(__name__)
NFM = "/nnrf-nfm/v1/nf-instances"
API_VERSION = {"apiVersionInUri": "v3", "apiFullVersion": "3.1.6"}  # TS 32.291 V17.9.0
DEFAULT_HEARTBEAT = 60  # seconds, until the NRF says otherwise
RETRY_MAX = 30.0
TIMEOUT = 5.0


class NrfError(Exception):
    """The NRF refused or did not answer."""


def profile(*, instance_id: str, base_url: str, heartbeat: int = DEFAULT_HEARTBEAT) -> dict:
    """This CHF's NFProfile (TS 29.510 6.1.6.2.2) for an Nchf endpoint at ``base_url``."""
    split = urlsplit(base_url)
    port = split.port or (443 if split.scheme == "https" else 80)
    host = split.hostname or ""
    where: dict[str, Any]
    try:
        where = {"ipv4Addresses": [str(ipaddress.IPv4Address(host))]}
        endpoint = {"ipv4Address": where["ipv4Addresses"][0], "transport": "TCP", "port": port}
    except ValueError:
        where = {"fqdn": host}
        endpoint = {"transport": "TCP", "port": port}
    service = {
        "serviceInstanceId": SERVICE, "serviceName": SERVICE, "versions": [API_VERSION],
        "scheme": split.scheme or "http", "nfServiceStatus": "REGISTERED",
        "ipEndPoints": [endpoint], "apiPrefix": base_url.rstrip("/"),
    }  # fmt: skip
    return {
        "nfInstanceId": instance_id, "nfType": NF_TYPE, "nfStatus": "REGISTERED",
        "heartBeatTimer": heartbeat, **where, "nfServices": [service],
    }  # fmt: skip


class Registration:
    """Register, heartbeat, deregister: one CHF instance at one NRF."""

    def __init__(self, *, nrf_url: str, nf_profile: dict, client: httpx.Client) -> None:
        self.url = f"{nrf_url.rstrip('/')}{NFM}/{nf_profile['nfInstanceId']}"
        self.profile = nf_profile
        self.client = client
        self.heartbeat_seconds = int(nf_profile.get("heartBeatTimer") or DEFAULT_HEARTBEAT)
        self.registered = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self) -> None:
        """PUT the profile. Raises NrfError."""
        answer = self._call("PUT", json=self.profile)
        if answer.status_code not in (200, 201):
            raise NrfError(f"register: HTTP {answer.status_code}")
        timer = _heartbeat_of(answer)
        self.heartbeat_seconds = timer or self.heartbeat_seconds
        self.registered = True
        log.info("nrf_registered", url=self.url, heartbeat=self.heartbeat_seconds)

    def heartbeat(self) -> None:
        """PATCH nfStatus REGISTERED; registers again if the NRF no longer knows us.
        Raises NrfError."""
        patch = [{"op": "replace", "path": "/nfStatus", "value": "REGISTERED"}]
        answer = self._call(
            "PATCH", json=patch, headers={"Content-Type": "application/json-patch+json"}
        )
        if answer.status_code == 404:
            log.warning("nrf_forgot_us", url=self.url)
            self.registered = False
            self.register()
        elif answer.status_code not in (200, 204):
            raise NrfError(f"heartbeat: HTTP {answer.status_code}")

    def deregister(self) -> None:
        """DELETE the profile (404: already gone). Raises NrfError."""
        answer = self._call("DELETE")
        self.registered = False
        if answer.status_code not in (204, 200, 404):
            raise NrfError(f"deregister: HTTP {answer.status_code}")
        log.info("nrf_deregistered", url=self.url)

    def _call(self, method: str, **kwargs) -> httpx.Response:
        try:
            return self.client.request(method, self.url, **kwargs)
        except httpx.HTTPError as exc:
            raise NrfError(f"{method}: {type(exc).__name__}") from None

    def run(self) -> None:
        """Register (retrying), then heartbeat at the timer, until :meth:`stop`."""
        backoff = 1.0
        while not self._stop.is_set():
            try:
                if self.registered:
                    self.heartbeat()
                else:
                    self.register()
                backoff, wait = 1.0, float(self.heartbeat_seconds)
            except NrfError as exc:
                log.warning("nrf_unreachable", url=self.url, error=str(exc))
                wait, backoff = backoff, min(backoff * 2, RETRY_MAX)
            self._stop.wait(wait)

    def start(self) -> Registration:
        self._thread = threading.Thread(target=self.run, name="nrf-registration", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the heartbeat and deregister (best effort: the NRF drops us anyway once our
        heartbeat is overdue)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT + 1)
        try:
            if self.registered:
                self.deregister()
        except NrfError as exc:
            log.warning("nrf_deregister_failed", url=self.url, error=str(exc))
        finally:
            self.client.close()


def _heartbeat_of(answer: httpx.Response) -> int | None:
    try:
        timer = answer.json().get("heartBeatTimer")
    except ValueError:
        return None
    return timer if isinstance(timer, int) and not isinstance(timer, bool) and timer > 0 else None


def client_for(url: str) -> httpx.Client:
    """HTTP/2 to the NRF: prior knowledge over ``http://`` (h2c), ALPN over ``https://``."""
    return httpx.Client(http2=True, http1=urlsplit(url).scheme == "https", timeout=TIMEOUT)


def start_registration() -> Registration | None:
    """The running registration of this CHF, or None when no NRF is configured."""
    if not settings.NRF_URL:
        return None
    nf_profile = profile(instance_id=settings.NF_INSTANCE_ID, base_url=settings.PUBLIC_BASE_URL)
    client = client_for(settings.NRF_URL)
    return Registration(nrf_url=settings.NRF_URL, nf_profile=nf_profile, client=client).start()


def run_beside_server(stop, server_pid: int) -> None:
    """The registration's own process, spawned (not forked) beside ``haoka serve``: a thread of
    the server itself was running an HTTP call while granian forked its workers, and a worker
    that inherited the import lock held by that call hung on its first outbound request.
    Runs until the server sets ``stop`` (then deregisters) or is gone (killed: deregisters
    too, rather than heartbeat for a CHF that no longer answers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's signals are the server's:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # it tells this process through ``stop``
    django.setup()
    registration = start_registration()
    if registration is None:
        return
    while not stop.wait(1.0) and os.getppid() == server_pid:
        pass
    registration.stop()
