"""Template filters: ¥ amounts, data sizes, masking."""

from django import template

from haoka.catalog.domain import format_data, format_minutes
from haoka.core.money import format_fen
from haoka.core.pii import mask_phone

register = template.Library()


@register.filter
def yuan(fen):
    return "" if fen is None else format_fen(int(fen))


@register.filter
def data_size(num_bytes):
    return format_data(int(num_bytes or 0))


@register.filter
def minutes(seconds):
    return format_minutes(int(seconds or 0))


@register.filter
def masked_phone(value):
    return mask_phone(value or "")


@register.filter
def spaced_msisdn(value):
    """13812345678 -> 138 1234 5678 (how numbers are read aloud and shown)."""
    value = value or ""
    return f"{value[:3]} {value[3:7]} {value[7:]}" if len(value) == 11 else value
