"""The REST API: one NinjaAPI, a router per domain, errors mapped to one JSON shape."""

from __future__ import annotations

import json

import structlog
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from haoka.accounts.api import login, sandbox_sms, send_otp
from haoka.accounts.api import router as accounts_router
from haoka.carriers.api import router as carriers_router
from haoka.catalog.api import router as catalog_router
from haoka.charging.api import router as charging_router
from haoka.charging.api_dataflow import router as charging_dataflow_router
from haoka.charging.api_family import router as charging_family_router
from haoka.charging.api_lifecycle import router as charging_lifecycle_router
from haoka.charging.api_money import router as charging_money_router
from haoka.charging.api_points import router as charging_points_router
from haoka.core import jsonio
from haoka.core.errors import HaokaError, NotFound, Unauthenticated, ValidationError
from haoka.core.validation_messages import chinese_message
from haoka.distribution.api import router as distribution_router
from haoka.distribution.api_staff import router as distribution_staff_router
from haoka.kyc.api import router as kyc_router
from haoka.lines.api import router as lines_router
from haoka.lines.api_lifecycle import replace_sim
from haoka.lines.api_lifecycle import router as lines_lifecycle_router
from haoka.logistics.api import router as logistics_router
from haoka.logistics.api import sandbox_parcel
from haoka.logistics.api_addresses import router as addresses_router
from haoka.notices.api import router as notices_router
from haoka.numbers.api import router as numbers_router
from haoka.orders.api import router as orders_router
from haoka.payments.api import router as payments_router
from haoka.sponsors.api import router as sponsors_router
from haoka.sponsors.api_campaigns import router as sponsors_campaigns_router
from haoka.sponsors.api_lines import router as sponsors_lines_router
from haoka.sponsors.api_pool import router as sponsors_pool_router
from haoka.sponsors.api_rewards import router as sponsors_rewards_router
from haoka.sponsors.api_wallet import router as sponsors_wallet_router

log = structlog.get_logger("haoka.api")


class Utf8JSONRenderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}

    def render(self, request, data, *, response_status: int) -> str:
        text = super().render(request, data, response_status=response_status)
        if jsonio.FORBIDDEN_TEXT.search(text) is None:
            return text
        # A lone surrogate (echoed from a path, say) cannot be encoded as UTF-8: escape it.
        return json.dumps(data, cls=self.encoder_class, ensure_ascii=True)


class JsonParser(Parser):
    """Request bodies are JSON (``application/json``), parsed and checked by ``core.jsonio``;
    query and form values are checked for the same forbidden characters."""

    def parse_body(self, request):
        if not jsonio.is_json(request.content_type):
            raise jsonio.UnsupportedMediaType(content_type=request.content_type or "")
        return jsonio.loads(request.body)

    def parse_querydict(self, data, list_fields, request):
        values = super().parse_querydict(data, list_fields, request)
        jsonio.check(values)
        return values


#: The one error shape every 4xx/5xx of the API answers with (see the handlers below).
ERROR_SCHEMA = {
    "type": "object",
    "title": "Error",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "稳定的错误代码（snake_case）"},
                "message": {"type": "string", "description": "给用户看的说明（简体中文）"},
                "details": {"type": "object", "description": "与错误相关的字段"},
            },
        }
    },
}
ERROR_DESCRIPTIONS = {
    400: "请求无效：路径或查询参数含非法字符，或请求体不是合法 JSON",
    401: "未登录或令牌无效（任何接口收到无效的 Bearer 令牌都会拒绝）",
    403: "无权限",
    404: "资源不存在",
    409: "状态冲突（状态机不允许、重复或正在处理的幂等请求）",
    413: "请求体过大",
    415: "请求体不是 application/json",
    422: "输入有误",
    429: "请求过于频繁",
    503: "外部系统暂时不可用",
}
#: Operations that count calls per caller (``core.ratelimit``) and answer 429 past the limit.
RATE_LIMITED = frozenset({send_otp, login, replace_sim})
#: Operations that answer 404 without a path parameter (sandbox-only pages, outside a sandbox).
NOT_FOUND_WITHOUT_PATH = frozenset({sandbox_sms})
#: Operations that wait on an outside system while the caller waits (503 when it does not answer).
WAITS_ON_UPSTREAM = frozenset({sandbox_parcel})
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def error_statuses(operation, *, path_params: bool, query_params: bool, body: bool) -> list[int]:
    """The error statuses ``operation`` can answer, from what it takes and who may call it."""
    statuses = {400, 401}  # bad characters anywhere in the URL; a bad bearer token anywhere
    if operation.auth_callbacks:
        statuses.add(403)  # role, scope or ownership refused
    writes = set(operation.methods) & _WRITES
    if path_params or (writes and body) or operation.view_func in NOT_FOUND_WITHOUT_PATH:
        statuses.add(404)  # what the path or the body names (a plan, a product ...) is unknown
    if writes:
        statuses.add(409)  # state conflicts (and a POST whose Idempotency-Key is in flight)
    if "POST" in operation.methods:
        statuses.add(422)  # an Idempotency-Key that is malformed or reused with another body
    if path_params or query_params or body:
        statuses.add(422)
    if body:
        statuses |= {413, 415}
    if operation.view_func in RATE_LIMITED:
        statuses.add(429)
    if operation.view_func in WAITS_ON_UPSTREAM:
        statuses.add(503)
    return sorted(statuses)


class HaokaOpenAPISchema(OpenAPISchema):
    """ninja's schema, plus the documented error answers of every operation (the ``Error``
    component) and the bearer security scheme of the authenticated ones."""

    def operation_details(self, operation) -> dict:
        result = super().operation_details(operation)
        places = {p.get("in") for p in result.get("parameters", [])}
        statuses = error_statuses(
            operation,
            path_params="path" in places,
            query_params="query" in places,
            body="requestBody" in result,
        )
        content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for status in statuses:
            result["responses"].setdefault(
                status, {"description": ERROR_DESCRIPTIONS[status], "content": content}
            )
        # The HTTP server itself refuses a request line past its limit (gunicorn: 4094 bytes),
        # with a page of its own, before haoka sees the request.
        result["responses"].setdefault(414, {"description": "请求行过长（HTTP 服务器直接拒绝）"})
        if operation.auth_callbacks:
            result["security"] = [{"bearer": []}]
        return result

    def get_components(self) -> dict:
        result = super().get_components()
        result["schemas"]["Error"] = ERROR_SCHEMA
        result.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
        return result


class HaokaAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return HaokaOpenAPISchema(self, path_prefix)


api = HaokaAPI(
    renderer=Utf8JSONRenderer(),
    parser=JsonParser(),
    title="haoka API",
    version="1",
    description="号卡平台 API：选号、套餐、订单、线路、计费、分销。",
    urls_namespace="api",
)


def _render(request, status: int, code: str, message: str, details: dict | None = None):
    return api.create_response(
        request,
        {"error": {"code": code, "message": message, "details": details or {}}},
        status=status,
    )


@api.exception_handler(HaokaError)
def _haoka_error(request, exc: HaokaError):
    return _render(request, exc.status, exc.code, exc.message, exc.details)


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    errors = [
        {
            "loc": [str(p) for p in e.get("loc", [])],
            "msg": chinese_message(e),
            "type": e.get("type", ""),
        }
        for e in exc.errors
    ]
    return _render(request, 422, ValidationError.code, ValidationError.message, {"errors": errors})


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return _render(request, 401, Unauthenticated.code, Unauthenticated.message)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _render(request, 404, NotFound.code, NotFound.message)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, HaokaError):  # ninja wraps what the body parser refused
        return _haoka_error(request, exc.__cause__)
    return _render(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(RequestDataTooBig)
def _too_large(request, exc):  # a body past its path's limit (core.middleware.InputGuard)
    error = jsonio.RequestTooLarge()
    return _render(request, error.status, error.code, error.message)


@api.exception_handler(Exception)
def _unexpected(request, exc: Exception):
    request_id = getattr(request, "request_id", "")
    log.exception("unexpected_error", path=request.path, request_id=request_id)
    return _render(request, 500, "internal_error", "服务器内部错误", {"request_id": request_id})


# Every domain's router, in the order their paths are matched.
api.add_router("", accounts_router)
api.add_router("", catalog_router)
api.add_router("/numbers", numbers_router)
api.add_router("", orders_router)
api.add_router("", kyc_router)
api.add_router("", payments_router)
api.add_router("", carriers_router)
api.add_router("", logistics_router)
api.add_router("", notices_router)
api.add_router("", addresses_router)
api.add_router("", lines_router)
api.add_router("", lines_lifecycle_router)
api.add_router("", charging_lifecycle_router)
api.add_router("", charging_money_router)
api.add_router("", charging_dataflow_router)
api.add_router("", charging_points_router)
api.add_router("", charging_family_router)
api.add_router("", charging_router)
api.add_router("", sponsors_router)
api.add_router("", sponsors_wallet_router)
api.add_router("", sponsors_campaigns_router)
api.add_router("", sponsors_lines_router)
api.add_router("", sponsors_rewards_router)
api.add_router("", sponsors_pool_router)
api.add_router("", distribution_router)
api.add_router("", distribution_staff_router)
