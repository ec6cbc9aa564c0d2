"""Chinese messages for the field errors pydantic reports (the API's 422 ``validation_error``).

Pydantic writes its messages in English ("Field required"); people read ours in Chinese. The
table below maps pydantic's stable error ``type`` codes to a Chinese sentence, filled in from
the error's ``ctx`` (the bound, the length, the pattern). A type not in the table gets a
Chinese sentence naming the field. The ``type`` code itself stays in the API's ``details`` so
machines keep reading the code, never the text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_ISO_DATETIME = "日期时间格式不正确（应为 ISO 8601，如 2026-01-31T08:00:00+08:00）"

#: pydantic error type -> Chinese message (``str.format`` fields come from the error's ctx).
MESSAGES: dict[str, str] = {
    "missing": "缺少必填字段",
    "missing_argument": "缺少必填字段",
    "missing_keyword_only_argument": "缺少必填字段",
    "missing_positional_only_argument": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "unexpected_keyword_argument": "不允许的字段",
    "json_invalid": "不是有效的 JSON",
    "json_type": "须为 JSON 文本",
    "none_required": "须为空",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数，不能带小数",
    "int_parsing_size": "整数超出范围",
    "float_type": "须为数字",
    "float_parsing": "须为数字",
    "finite_number": "须为有限数字",
    "decimal_type": "须为数字",
    "decimal_parsing": "须为数字",
    "decimal_max_digits": "数字位数不能超过 {max_digits} 位",
    "decimal_max_places": "小数不能超过 {decimal_places} 位",
    "decimal_whole_digits": "整数部分不能超过 {whole_digits} 位",
    "bool_type": "须为布尔值（true 或 false）",
    "bool_parsing": "须为布尔值（true 或 false）",
    "string_type": "须为文本",
    "string_unicode": "须为有效的 Unicode 文本",
    "string_too_short": "长度不能少于 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "string_not_ascii": "只能包含 ASCII 字符",
    "bytes_type": "须为字节串",
    "bytes_too_short": "长度不能少于 {min_length} 字节",
    "bytes_too_long": "长度不能超过 {max_length} 字节",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "multiple_of": "须为 {multiple_of} 的倍数",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "list_type": "须为列表",
    "tuple_type": "须为列表",
    "set_type": "须为列表",
    "frozen_set_type": "须为列表",
    "iterable_type": "须为列表",
    "dict_type": "须为对象",
    "mapping_type": "须为对象",
    "model_type": "须为对象",
    "model_attributes_type": "须为对象",
    "dataclass_type": "须为对象",
    "enum": "取值须为以下之一：{expected}",
    "literal_error": "取值须为以下之一：{expected}",
    "date_type": "须为日期",
    "date_parsing": "日期格式不正确（应为 YYYY-MM-DD）",
    "date_from_datetime_parsing": "日期格式不正确（应为 YYYY-MM-DD）",
    "date_from_datetime_inexact": "须为日期，不能带时间",
    "date_past": "须为过去的日期",
    "date_future": "须为将来的日期",
    "time_type": "须为时间",
    "time_parsing": "时间格式不正确（应为 HH:MM:SS）",
    "datetime_type": "须为日期时间",
    "datetime_parsing": _ISO_DATETIME,
    "datetime_from_date_parsing": _ISO_DATETIME,
    "datetime_object_invalid": "日期时间无效",
    "datetime_past": "须为过去的时间",
    "datetime_future": "须为将来的时间",
    "timezone_aware": "须带时区（如 +08:00）",
    "timezone_naive": "不能带时区",
    "timezone_offset": "时区不正确",
    "time_delta_type": "须为时长",
    "time_delta_parsing": "时长格式不正确",
    "uuid_type": "须为 UUID",
    "uuid_parsing": "UUID 格式不正确",
    "uuid_version": "UUID 版本不正确",
    "url_type": "须为网址",
    "url_parsing": "网址格式不正确",
    "url_syntax_violation": "网址格式不正确",
    "url_too_long": "网址过长",
    "url_scheme": "网址协议不正确",
    "union_tag_invalid": "类型标记不正确",
    "union_tag_not_found": "缺少类型标记",
    "value_error": "取值无效",
    "assertion_error": "取值无效",
}

#: The message of a type not in :data:`MESSAGES` (``{field}`` is the field's name).
FALLBACK = "字段 {field} 的取值无效"


def _field(loc: Sequence[Any]) -> str:
    """The field an error is about: the last name of its location (``body``/``query`` alone
    when the whole body or query is wrong)."""
    names = [str(part) for part in loc if not isinstance(part, int)]
    return names[-1] if names else "输入"


def chinese_message(error: Mapping[str, Any]) -> str:
    """The Chinese message of one pydantic error (a dict with ``type``, ``loc``, ``ctx``)."""
    template = MESSAGES.get(str(error.get("type", "")))
    if template is None:
        return FALLBACK.format(field=_field(error.get("loc", ())))
    ctx = error.get("ctx") or {}
    try:
        # pydantic joins the choices of an enum with " or ": ours are listed with commas.
        values = {key: str(value).replace(" or ", ", ") for key, value in ctx.items()}
        return template.format(**values)
    except (KeyError, IndexError, ValueError):  # a ctx without the bound: say it without it
        return FALLBACK.format(field=_field(error.get("loc", ())))
