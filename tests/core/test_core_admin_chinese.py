"""The staff console (Django admin) speaks Chinese: every model it shows and every field of
those models has a Chinese name (Django's own models are translated by Django)."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.contrib import admin

CJK = re.compile(r"[\u4e00-\u9fff]")
HAOKA_MODELS = [m for m in apps.get_models() if m.__module__.startswith("haoka.")]


def _english(model) -> list[str]:
    names = [("model", model._meta.verbose_name), ("plural", model._meta.verbose_name_plural)]
    names += [
        (field.name, field.verbose_name)
        for field in model._meta.get_fields()
        if field.concrete and field.name != "id"
    ]
    return [f"{what}={name}" for what, name in names if not CJK.search(str(name))]


def test_every_model_the_admin_shows_has_chinese_names_for_itself_and_its_fields():
    shown = list(admin.site._registry)  # Django's own and django-tasks-db's (locale/) too
    assert len(shown) > 20
    english = {m._meta.label: _english(m) for m in shown}
    assert {label: names for label, names in english.items() if names} == {}


@pytest.mark.parametrize("model", HAOKA_MODELS, ids=lambda m: m._meta.label)
def test_every_haoka_model_and_field_has_a_chinese_name(model):
    assert _english(model) == []


def test_every_app_the_admin_shows_has_a_chinese_name():
    labels = {model._meta.app_config.verbose_name for model in admin.site._registry}
    assert [label for label in labels if not CJK.search(str(label))] == []
