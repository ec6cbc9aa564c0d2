"""NRF simulator (3GPP TS 29.510): where network functions register and find each other, and
the OAuth2 authorisation server of the SBI. A separate process (``haoka simulate nrf``, port
8104 beside a haoka on 8000) served by granian on HTTP/1.1 and h2c (prior knowledge), as a
real NRF is: no Django, state in memory.

- Nnrf_NFManagement: ``PUT /nnrf-nfm/v1/nf-instances/{id}`` registers (201 + Location) or
  replaces (200) an NFProfile, answered with the profile and the ``heartBeatTimer`` the NF
  must keep; ``PATCH`` (JSON Patch) is the heartbeat (204); ``DELETE`` deregisters (204);
  ``GET`` reads one profile. Unknown instance: 404 ProblemDetails; a body that is not an
  NFProfile (nfInstanceId, nfType, nfStatus; the id the path names): 400.
- Nnrf_NFDiscovery: ``GET /nnrf-disc/v1/nf-instances?target-nf-type=CHF&requester-nf-type=SMF``
  (optional ``service-names``, ``target-nf-instance-id``): a SearchResult of the REGISTERED
  profiles that match, those whose heartbeat is overdue (twice the timer) left out.
- Nnrf_AccessToken: ``POST /oauth2/token`` (form-encoded AccessTokenReq, grant_type
  client_credentials): an AccessTokenRsp whose JWT is signed RS256 with the simulator's key,
  claims ``iss`` (the NRF's instance id), ``sub`` (the requester), ``aud`` (the target's
  instance id, else its NF type), ``scope``, ``exp``. Refusals are AccessTokenErr (400):
  ``unsupported_grant_type``, ``invalid_request`` (a missing field, an unknown target
  instance), ``invalid_scope`` (a service no registered NF of the target type offers).

The key: ``--key-file`` (``HAOKA_NRF_SIM_KEY_FILE``), an RSA private key in PEM, created when
missing; its public part is written beside it (``<file>.pub``), which is what haoka is told to
trust (``HAOKA_NRF_PUBLIC_KEY``). Latency and injected 503/504 as the other simulators
(``/_sim/config``, ``/_sim/stats``; docs/integrations.md).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from haoka import simkit

NFM = "/nnrf-nfm/v1/nf-instances"
DISC = "/nnrf-disc/v1/nf-instances"
DEFAULT_HEARTBEAT = 10  # seconds
DEFAULT_TOKEN_TTL = 3600  # seconds
_PROBLEM = "application/problem+json"


def problem(status: int, cause: str, detail: str) -> JSONResponse:
    """A TS 29.571 ProblemDetails answer."""
    body = {"status": status, "cause": cause, "detail": detail}
    return JSONResponse(body, status_code=status, media_type=_PROBLEM)


def load_key(path: Path) -> rsa.RSAPrivateKey:
    """The RSA private key in ``path``, created (with ``<path>.pub``) when missing."""
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))  # fmt: skip
        path.chmod(0o600)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise simkit.SimError(400, "invalid_config", field="key_file", detail="not an RSA key")
    public = Path(f"{path}.pub")
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if not public.exists() or public.read_bytes() != pem:
        public.write_bytes(pem)
    return key


class Nrf:
    """The registry, its heartbeats and the token issuer."""

    def __init__(self, sim: simkit.Sim, *, key, instance_id: str, heartbeat: int, ttl: int):
        self.sim = sim
        self.key = key
        self.instance_id = instance_id
        self.heartbeat = heartbeat
        self.ttl = ttl
        self.profiles: dict[str, dict[str, Any]] = {}
        self.seen: dict[str, float] = {}  # instance id -> monotonic time of its last sign

    async def register(self, request: Request) -> Response:
        await self.sim.faults()
        instance_id = request.path_params["instance_id"]
        try:
            profile = simkit.parse_json(await request.body())
        except simkit.SimError:
            return problem(400, "INVALID_MSG_FORMAT", "请求体不是 JSON 对象")
        missing = [k for k in ("nfInstanceId", "nfType", "nfStatus") if not profile.get(k)]
        if missing:
            return problem(400, "MANDATORY_IE_MISSING", f"缺少 {', '.join(missing)}")
        if profile["nfInstanceId"] != instance_id:
            return problem(400, "MANDATORY_IE_INCORRECT", "nfInstanceId 与路径不一致")
        created = instance_id not in self.profiles
        profile["heartBeatTimer"] = self.heartbeat
        self.profiles[instance_id] = profile
        self.seen[instance_id] = time.monotonic()
        self.sim.stats["registrations"] += 1
        if not created:
            return JSONResponse(profile)
        location = f"{str(request.base_url).rstrip('/')}{NFM}/{instance_id}"
        return JSONResponse(profile, status_code=201, headers={"Location": location})

    async def heartbeat_or_update(self, request: Request) -> Response:
        await self.sim.faults()
        instance_id = request.path_params["instance_id"]
        profile = self.profiles.get(instance_id)
        if profile is None:
            return problem(404, "CONTEXT_NOT_FOUND", "未注册的 NF 实例")
        try:
            ops = json.loads(await request.body() or b"null")
            if not isinstance(ops, list) or not ops:
                raise ValueError("a JSON Patch is a non-empty array")
            changed = dict(profile)
            for op in ops:
                _apply(changed, op)
        except (AttributeError, KeyError, TypeError, ValueError):
            return problem(400, "INVALID_MSG_FORMAT", "请求体不是 JSON Patch")
        self.profiles[instance_id] = changed  # all the operations or none
        self.seen[instance_id] = time.monotonic()
        self.sim.stats["heartbeats"] += 1
        return Response(status_code=204)

    async def deregister(self, request: Request) -> Response:
        await self.sim.faults()
        instance_id = request.path_params["instance_id"]
        if self.profiles.pop(instance_id, None) is None:
            return problem(404, "CONTEXT_NOT_FOUND", "未注册的 NF 实例")
        self.seen.pop(instance_id, None)
        self.sim.stats["deregistrations"] += 1
        return Response(status_code=204)

    async def read(self, request: Request) -> Response:
        profile = self.profiles.get(request.path_params["instance_id"])
        if profile is None:
            return problem(404, "CONTEXT_NOT_FOUND", "未注册的 NF 实例")
        return JSONResponse(profile)

    def alive(self) -> list[dict[str, Any]]:
        """Registered profiles whose heartbeat is not overdue (twice the timer)."""
        now = time.monotonic()
        return [
            profile
            for instance_id, profile in self.profiles.items()
            if profile.get("nfStatus") == "REGISTERED"
            and now - self.seen.get(instance_id, 0) <= 2 * self.heartbeat
        ]

    async def discover(self, request: Request) -> Response:
        await self.sim.faults()
        query = request.query_params
        missing = [k for k in ("target-nf-type", "requester-nf-type") if not query.get(k)]
        if missing:
            return problem(400, "MANDATORY_IE_MISSING", f"缺少查询参数 {', '.join(missing)}")
        names = set(",".join(query.getlist("service-names")).split(",")) - {""}
        wanted_id = query.get("target-nf-instance-id")
        found = [
            p for p in self.alive()
            if p["nfType"] == query["target-nf-type"]
            and (wanted_id is None or p["nfInstanceId"] == wanted_id)
            and (not names or names & _services(p))
        ]  # fmt: skip
        self.sim.stats["discoveries"] += 1
        return JSONResponse({"validityPeriod": self.heartbeat, "nfInstances": found})

    async def token(self, request: Request) -> Response:
        await self.sim.faults()
        form = {
            k: v[-1] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()
        }
        if form.get("grant_type") != "client_credentials":
            return _token_error("unsupported_grant_type", "grant_type 须为 client_credentials")
        missing = [k for k in ("nfInstanceId", "scope") if not form.get(k)]
        if missing or not (form.get("targetNfType") or form.get("targetNfInstanceId")):
            return _token_error("invalid_request", f"缺少 {', '.join(missing) or 'targetNfType'}")
        target_id = form.get("targetNfInstanceId")
        target = self.profiles.get(target_id) if target_id else None
        if target_id and target is None:
            return _token_error("invalid_request", "目标 NF 实例未注册")
        target_type = form.get("targetNfType") or target["nfType"]
        offered = set().union(*(_services(p) for p in self.alive() if p["nfType"] == target_type))
        if not set(form["scope"].split()) <= offered:
            return _token_error("invalid_scope", "目标 NF 不提供所请求的服务")
        claims = {
            "iss": self.instance_id, "sub": form["nfInstanceId"],
            "aud": [target_id] if target_id else target_type, "scope": form["scope"],
            "exp": int(time.time()) + self.ttl,
        }  # fmt: skip
        token = jwt.encode(claims, self.key, algorithm="RS256")
        self.sim.stats["tokens_issued"] += 1
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.ttl,
                "scope": form["scope"]}  # fmt: skip
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _services(profile: dict[str, Any]) -> set[str]:
    services = profile.get("nfServices") or profile.get("nfServiceList", {}).values()
    return {s.get("serviceName", "") for s in services if isinstance(s, dict)}


def _apply(profile: dict[str, Any], op: dict[str, Any]) -> None:
    """One JSON Patch operation on a top-level member (what a heartbeat or an update sends).
    Raises ValueError for anything else."""
    path = op.get("path", "")
    if op.get("op") not in ("add", "replace", "remove") or path.count("/") != 1:
        raise ValueError(op)
    name = path[1:]
    if name in ("nfInstanceId", "nfType"):
        raise ValueError("immutable")
    if op["op"] == "remove":
        profile.pop(name, None)
    else:
        profile[name] = op["value"]


def _token_error(error: str, description: str) -> JSONResponse:
    """A TS 29.510 AccessTokenErr (RFC 6749 section 5.2)."""
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def create_app(
    config: simkit.SimConfig, *, key_file: Path, heartbeat: int = DEFAULT_HEARTBEAT,
    token_ttl: int = DEFAULT_TOKEN_TTL, instance_id: str | None = None,
):  # fmt: skip
    """The NRF simulator's Starlette app."""
    sim = simkit.Sim(config)
    for key in ("registrations", "heartbeats", "deregistrations", "discoveries", "tokens_issued"):
        sim.stats[key] = 0
    nrf = Nrf(
        sim, key=load_key(Path(key_file)), instance_id=instance_id or str(uuid.uuid4()),
        heartbeat=heartbeat, ttl=token_ttl,
    )  # fmt: skip
    one = f"{NFM}/{{instance_id}}"
    routes = [
        Route(one, nrf.register, methods=["PUT"]),
        Route(one, nrf.heartbeat_or_update, methods=["PATCH"]),
        Route(one, nrf.deregister, methods=["DELETE"]),
        Route(one, nrf.read, methods=["GET"]),
        Route(DISC, nrf.discover, methods=["GET"]),
        Route("/oauth2/token", nrf.token, methods=["POST"]),
        *simkit.sim_routes(sim, extra_stats=lambda: {"registered": len(nrf.profiles)}),
    ]
    app = simkit.build_app(sim, routes)
    app.state.nrf = nrf
    return app
