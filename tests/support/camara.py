"""CAMARA Sponsored Data tests: a sponsor's API token, a CAMARA_SESSION campaign, calls to
``/sponsored-data/vwip/...`` with its headers, the YAML's schemas, and a real HTTP server
standing in for the sponsor's webhook sink (it can be told to fail)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import yaml

from haoka.core import clock
from haoka.sponsors import camara_domain as cd
from haoka.sponsors import operations as sponsor_ops
from haoka.sponsors.models import Sponsor
from tests.support.charging import make_line
from tests.support.nchf_spec import FORMATS, SPECS
from tests.support.sponsors import make_campaign, make_sponsor

CAMARA_DIR = SPECS.parent / "camara-sponsored-data"
YAML_PATH = CAMARA_DIR / "sponsored_data.yaml"
FEATURE_PATH = CAMARA_DIR / "sponsored-data.feature"
ROOT = "/sponsored-data/vwip"
PLAN = "CM-SHANGLV-58"  # 30 GB of general data


def spec() -> dict:
    return yaml.safe_load(Path(YAML_PATH).read_text(encoding="utf-8"))


def check_schema(body: object, schema: dict) -> None:
    """Validate against a schema of the YAML (its ``#/components`` refs resolved)."""
    document = spec()
    validator = jsonschema.Draft4Validator(
        {**schema, "components": document["components"]}, format_checker=FORMATS
    )
    validator.validate(body)


def response_schema(path: str, method: str, status: int) -> dict:
    operation = spec()["paths"][path][method]
    response = operation["responses"][str(status)]
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[1]
        response = spec()["components"]["responses"][name]
    return response["content"]["application/json"]["schema"]


def component(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def sponsor_token(sponsor: Sponsor, *, now: dt.datetime) -> str:
    return sponsor_ops.create_token(
        sponsor=sponsor, user_id=sponsor.applicant_id, name="camara", now=now
    ).token


def camara_campaign(sponsor: Sponsor, *, now: dt.datetime, **overrides):
    """An ACTIVE CAMARA_SESSION campaign: ¥100 at ¥5 a GB (20 GB), 10 GB a line a month."""
    values = {"kind": "CAMARA_SESSION", "name": "CAMARA 会话", "rating_groups": [],
              "per_line_cap_mb": 10240, **overrides}  # fmt: skip
    return make_campaign(sponsor, now=now, **values)


def ids(campaign) -> tuple[str, str]:
    return (
        cd.camara_sponsor_id(campaign.sponsor.sponsor_id),
        cd.camara_campaign_id(campaign.campaign_id),
    )


def headers(token: str | None, **extra) -> dict:
    found = {"x-correlator": str(uuid.uuid4()), **extra}
    if token is not None:
        found["accessToken"] = token
    return found


def call(client, method: str, path: str, token: str | None, body=None, **extra):
    """A request to the API (``path`` below the base), JSON body if any."""
    kwargs: dict = {"headers": headers(token, **extra)}
    if body is not None:
        kwargs["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
        kwargs["content_type"] = kwargs["headers"].pop("Content-Type", "application/json")
    return getattr(client, method.lower())(f"{ROOT}{path}", **kwargs)


def start_body(campaign, msisdn: str, sink_url: str, **overrides) -> dict:
    sponsor_id, campaign_id = ids(campaign)
    return {"sponsorId": sponsor_id, "campaignId": campaign_id, "phoneNumber": f"+86{msisdn}",
            "webhookUrl": sink_url, "callbackToken": str(uuid.uuid4()), **overrides}  # fmt: skip


# ---------------------------------------------------------------- the sponsor's sink


@dataclass
class Received:
    headers: dict
    body: dict


@dataclass
class WebhookSink:
    """A real HTTP server on 127.0.0.1: records every POST; answers ``fail`` statuses first
    (one per request), then 204."""

    received: list[Received] = field(default_factory=list)
    fail: list[int] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> WebhookSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                sink.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = sink.fail.pop(0) if sink.fail else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# ---------------------------------------------------------------- the BDD world


class World:
    """What a scenario built and sent."""

    def __init__(self, request, client, now):
        self.request, self.client, self.now, self.at = request, client, now, now
        self.tags = {m.name for m in request.node.iter_markers()}
        self.sponsor = make_sponsor(now=now)
        self.token = sponsor_token(self.sponsor, now=now)
        self.campaign = camara_campaign(self.sponsor, now=now)
        self.sink = WebhookSink().start()
        self.headers: dict[str, str] = {}
        self.resource, self.body, self.params = "", None, {}
        self.response = None
        self.callback_token = ""

    def tagged(self, part: str) -> bool:
        return any(part in tag for tag in self.tags)

    def line(self):
        return make_line(plan=PLAN, now=self.now)

    def start(self, campaign=None, **overrides) -> dict:
        body = start_body(campaign or self.campaign, self.line().msisdn, self.sink.url,
                                  **overrides)  # fmt: skip
        answer = call(self.client, "POST", "/sponsorship", self.token, body)
        assert answer.status_code == 201, answer.content
        return {**answer.json(), "callbackToken": body["callbackToken"]}

    def path(self) -> str:
        path = self.resource
        for name, value in self.params.items():
            path = path.replace("{" + name + "}", value)
        return path

    def send(self, method: str):
        kwargs = {"headers": {k: v for k, v in self.headers.items() if k != "Content-Type"}}
        body = self.body
        if body is None and method == "POST" and self.resource == "/sponsorship":
            body = self.valid_start()
        if body is not None:
            kwargs["data"] = body if isinstance(body, str) else json.dumps(body)
            kwargs["content_type"] = self.headers.get("Content-Type", "application/json")
        with clock.frozen(self.at, all_threads=True):
            self.response = self.client.generic(method, f"{ROOT}{self.path()}", **kwargs)
        return self.response

    def valid_start(self) -> dict:
        return start_body(self.campaign, self.line().msisdn, self.sink.url)
