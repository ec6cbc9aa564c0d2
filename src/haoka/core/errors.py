"""Named errors with stable codes.

Every error a caller can provoke is a subclass of :class:`HaokaError`, defined in the module
that raises it. The API maps them to ``{"error": {"code", "message", "details"}}`` with the
class's HTTP status; the CLI prints the message.
"""

from __future__ import annotations

from typing import Any, ClassVar


class HaokaError(Exception):
    """Base of every expected, caller-facing error.

    Subclasses set ``code`` (stable, snake_case), ``status`` (HTTP 4xx) and a default
    ``message`` (Simplified Chinese, shown to people).
    """

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    message: ClassVar[str] = "请求无法处理"

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or type(self).message
        self.details = details
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationError(HaokaError):
    code = "validation_error"
    status = 422
    message = "输入有误"


class NotFound(HaokaError):
    code = "not_found"
    status = 404
    message = "未找到"


class PermissionDenied(HaokaError):
    code = "permission_denied"
    status = 403
    message = "无权执行此操作"


class Unauthenticated(HaokaError):
    code = "unauthenticated"
    status = 401
    message = "请先登录"


class Conflict(HaokaError):
    code = "conflict"
    status = 409
    message = "状态冲突"


class RateLimited(HaokaError):
    code = "rate_limited"
    status = 429
    message = "操作过于频繁，请稍后再试"


class IllegalTransition(Conflict):
    code = "illegal_transition"
    message = "当前状态不允许此操作"
