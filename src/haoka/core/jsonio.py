"""JSON in from outside: parsed once, refused clearly.

Every JSON body haoka reads from a client, a callback or a network function goes through
``loads``: what is not JSON, nests deeper than any message haoka accepts, or carries text that
no field may hold (control characters such as NUL, which PostgreSQL refuses in text; lone
surrogates, which cannot be encoded back) is refused with a named 4xx error before any use case
sees it, instead of failing deep inside with a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any

from haoka.core.errors import HaokaError, ValidationError

#: Deeper than any request or callback haoka reads (Nchf's are about 6 levels).
MAX_DEPTH = 32
#: C0 controls other than tab, line feed and carriage return; DEL; UTF-16 surrogates.
FORBIDDEN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class InvalidJson(ValidationError):
    status = 400
    code = "invalid_json"
    message = "请求体不是有效的 JSON"


class TooDeep(ValidationError):
    status = 400
    code = "json_too_deep"
    message = "JSON 嵌套层数过多"


class InvalidText(ValidationError):
    status = 400
    code = "invalid_characters"
    message = "文本中含有不允许的控制字符或无效字符"


class UnsupportedMediaType(HaokaError):
    status = 415
    code = "unsupported_media_type"
    message = "请求体必须是 JSON（Content-Type: application/json）"


class RequestTooLarge(HaokaError):
    """A body over what its path accepts (``settings.REQUEST_MAX_BYTES``, more on the paths of
    ``settings.REQUEST_MAX_BYTES_BY_PATH``)."""

    status = 413
    code = "request_too_large"
    message = "请求体过大"


class InvalidContentLength(ValidationError):
    status = 400
    code = "invalid_content_length"
    message = "Content-Length 请求头无效"


def loads(body: bytes | str) -> Any:
    """The JSON value of ``body``. Raises InvalidJson, TooDeep, InvalidText."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise TooDeep(max_depth=MAX_DEPTH) from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidJson() from None
    check(value)
    return value


def check(value: Any) -> None:
    """Walk a parsed value (without recursion) and refuse what no field may hold: nesting deeper
    than MAX_DEPTH, forbidden characters in any key or text. Raises TooDeep, InvalidText."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if FORBIDDEN_TEXT.search(item):
                raise InvalidText()
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise TooDeep(max_depth=MAX_DEPTH)
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        else:
            stack.extend((child, depth + 1) for child in item)


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON (``application/json``, or ``application/<x>+json``
    as the 3GPP and problem+json bodies are), whatever its parameters."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
