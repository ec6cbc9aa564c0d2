"""Helpers the staff console (Django admin) shares: money shown as ¥68.00 and typed in yuan,
codes shown with their Chinese labels.

Money is integer fen in every table (``*_fen`` columns). :class:`YuanAdminMixin` makes a
ModelAdmin (or an inline) show those columns as ¥ in its lists and read-only fields, and
take them in yuan ("68.00") in its forms, storing fen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models

from haoka.core.money import InvalidAmount, format_fen, yuan_to_fen
from haoka.core.schema_types import MAX_FEN


def fen_text(fen: int | None) -> str:
    """¥68.00, or "—" when there is no amount."""
    return "—" if fen is None else format_fen(fen)


def fen_display(model: type[models.Model], name: str) -> Callable[[Any], str]:
    """A list or read-only column showing the fen field ``name`` of ``model`` as ¥, titled
    with the field's verbose name and sortable by it."""
    field = model._meta.get_field(name)

    @admin.display(description=field.verbose_name, ordering=name)
    def column(*args) -> str:  # (obj), or (admin, obj) when a class attribute
        return fen_text(getattr(args[-1], name))

    column.__name__ = f"{name}_yuan"
    return column


def label_display(name: str, labels: Mapping[str, str], description: str) -> Callable:
    """A column showing the code in field ``name`` with its Chinese label from ``labels``
    (an unknown code is shown as it is)."""

    @admin.display(description=description, ordering=name)
    def column(*args) -> str:  # (admin, obj) as a class attribute, or (obj)
        code = getattr(args[-1], name) or ""
        return labels.get(code, code) or "—"

    column.__name__ = f"{name}_label"
    return column


class YuanField(forms.Field):
    """A form field for money typed in yuan ("68", "68.00", "¥1,234.50"); its value is
    integer fen. Shows fen it is given (the model's value) as yuan."""

    widget = forms.TextInput
    default_error_messages = {
        "invalid": "请输入以元为单位的金额，最多两位小数，如 68.00",
        "min_value": "金额不能小于 %(limit)s",
        "max_value": "金额不能大于 %(limit)s",
    }

    def __init__(self, *, min_fen: int | None = 0, max_fen: int = MAX_FEN, **kwargs) -> None:
        self.min_fen, self.max_fen = min_fen, max_fen
        kwargs.setdefault("help_text", "单位：元")
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            sign = "-" if value < 0 else ""
            whole, cents = divmod(abs(value), 100)
            return f"{sign}{whole}.{cents:02d}"
        return value

    def to_python(self, value) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # already fen (an initial value)
        text = str(value).strip().replace("¥", "").replace("￥", "").replace(",", "")
        try:
            return yuan_to_fen(text, allow_negative=self.min_fen is None or self.min_fen < 0)
        except InvalidAmount:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None

    def validate(self, value) -> None:
        super().validate(value)
        if value is None:
            return
        if self.min_fen is not None and value < self.min_fen:
            limit = format_fen(self.min_fen)
            raise forms.ValidationError(
                self.error_messages["min_value"], code="min_value", params={"limit": limit}
            )
        if value > self.max_fen:
            limit = format_fen(self.max_fen)
            raise forms.ValidationError(
                self.error_messages["max_value"], code="max_value", params={"limit": limit}
            )


def _is_fen(field) -> bool:
    return field.name.endswith("_fen") and isinstance(field, models.IntegerField)


class YuanAdminMixin:
    """For a ModelAdmin or an inline: ``*_fen`` columns named in ``list_display`` or
    ``readonly_fields`` show as ¥ (a ``<name>_yuan`` column replaces them), and editable
    ones are typed in yuan (:class:`YuanField`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        fen = {f.name for f in self.model._meta.fields if _is_fen(f)}
        readonly = {n for n in self.readonly_fields if isinstance(n, str)} & fen
        listed = getattr(self, "list_display", ())  # an inline has no list
        shown = {n for n in listed if isinstance(n, str)} & fen
        for name in readonly | shown:
            setattr(self, f"{name}_yuan", fen_display(self.model, name))

        def swap(names, which):
            if names is None:
                return None
            return [f"{n}_yuan" if isinstance(n, str) and n in which else n for n in names]

        if shown:
            self.list_display = swap(self.list_display, shown)
        self.readonly_fields = swap(self.readonly_fields, readonly)
        if self.fields is not None:
            self.fields = swap(self.fields, readonly)
        if readonly:  # the raw column must not come back as a form field beside its ¥ one
            self.exclude = [*(self.exclude or ()), *sorted(readonly)]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if _is_fen(db_field) and db_field.editable:
            label = kwargs.pop("label", None) or db_field.verbose_name
            kwargs.pop("widget", None)
            initial = db_field.get_default() if db_field.has_default() else None
            return YuanField(
                label=label,
                required=not db_field.blank,
                initial=initial,
                help_text=kwargs.pop("help_text", None) or "单位：元",
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


def label_filter(name: str, labels: Mapping[str, str], title: str) -> type[admin.SimpleListFilter]:
    """A list filter on the code in field ``name`` offering the codes present, each shown
    with its Chinese label."""

    class LabelFilter(admin.SimpleListFilter):
        parameter_name = name

        def lookups(self, request, model_admin):
            present = (
                model_admin.get_queryset(request)
                .exclude(**{name: ""})
                .order_by()
                .values_list(name, flat=True)
                .distinct()
            )
            return [(code, labels.get(code, code)) for code in sorted(present)]

        def queryset(self, request, queryset):
            value = self.value()
            return queryset if value is None else queryset.filter(**{name: value})

    LabelFilter.title = title
    LabelFilter.__name__ = f"{name.title().replace('_', '')}LabelFilter"
    return LabelFilter
