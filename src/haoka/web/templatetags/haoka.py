"""Template filters: ¥ amounts, data sizes, masking."""

from decimal import Decimal

from django import template

from haoka.catalog.domain import format_data, format_minutes
from haoka.charging.movements import format_bytes
from haoka.core.money import format_fen, round_to_fen
from haoka.core.pii import mask_phone

register = template.Library()


@register.filter
def yuan(fen):
    return "" if fen is None else format_fen(int(fen))


@register.filter
def data_size(num_bytes):
    return format_data(int(num_bytes or 0))


@register.filter
def data_moved(num_bytes):
    """Bytes as a movement of data reads (1GB, 1.5GB, 300MB), as 流量控 and bills say it."""
    return format_bytes(int(num_bytes or 0))


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


@register.filter
def rate_yuan(fen_rate):
    """A per-unit rate in Decimal fen as yuan, keeping sub-fen precision:
    0.4883 (fen/MB) -> ¥0.004883, 10 (fen/min) -> ¥0.10."""
    if fen_rate in (None, ""):
        return ""
    value = (Decimal(str(fen_rate)) / 100).normalize()
    if value.as_tuple().exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return f"¥{value:f}"


@register.filter
def per_gb_fen(fen_per_mb):
    """Fen per MB -> whole fen per GB (rounded the one named way), for "约 ¥5.00/GB"."""
    return round_to_fen(Decimal(str(fen_per_mb or 0)) * 1024)
