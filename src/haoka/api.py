"""The REST API: one NinjaAPI, a router per domain, errors mapped to one JSON shape."""

from __future__ import annotations

import json

import structlog
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from haoka.accounts.api import router as accounts_router
from haoka.carriers.api import router as carriers_router
from haoka.catalog.api import router as catalog_router
from haoka.charging.api import router as charging_router
from haoka.charging.api_lifecycle import router as charging_lifecycle_router
from haoka.charging.api_money import router as charging_money_router
from haoka.core import jsonio
from haoka.core.errors import HaokaError, NotFound, Unauthenticated, ValidationError
from haoka.distribution.api import router as distribution_router
from haoka.distribution.api_staff import router as distribution_staff_router
from haoka.kyc.api import router as kyc_router
from haoka.lines.api import router as lines_router
from haoka.lines.api_lifecycle import router as lines_lifecycle_router
from haoka.logistics.api import router as logistics_router
from haoka.numbers.api import router as numbers_router
from haoka.orders.api import router as orders_router
from haoka.payments.api import router as payments_router

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


api = NinjaAPI(
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
            "msg": e.get("msg", ""),
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
api.add_router("", lines_router)
api.add_router("", lines_lifecycle_router)
api.add_router("", charging_lifecycle_router)
api.add_router("", charging_money_router)
api.add_router("", charging_router)
api.add_router("", distribution_router)
api.add_router("", distribution_staff_router)
