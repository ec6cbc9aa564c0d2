"""The 3GPP OpenAPI definitions (``../shared/specs/3gpp-rel17/``, see its README) as JSON
Schema validators: ``check(body, "TS29510_Nnrf_NFManagement.yaml", "NFProfile")`` raises
jsonschema.ValidationError when ``body`` is not what the spec says. ``$ref``s across files
(``TS29571_CommonData.yaml#/components/schemas/Uri``) resolve through a registry that reads
the referenced file when first needed. OpenAPI 3.0 schemas are JSON Schema draft 4 with extra
keywords (``nullable``, ``example``), which the validator ignores."""

from __future__ import annotations

import functools
from pathlib import Path

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "3gpp-rel17"
BASE = "urn:3gpp:"

needs_specs = pytest.mark.skipif(not SPECS.is_dir(), reason=f"no 3GPP specs at {SPECS}")


def _retrieve(uri: str) -> Resource:
    name = uri.removeprefix(BASE)
    document = yaml.safe_load((SPECS / name).read_text(encoding="utf-8"))
    return Resource.from_contents(document, default_specification=DRAFT4)


@functools.cache
def _registry() -> Registry:
    return Registry(retrieve=_retrieve)  # ty: ignore[invalid-argument-type]


@functools.cache
def validator(spec: str, name: str) -> jsonschema.Draft4Validator:
    schema = {"$ref": f"{BASE}{spec}#/components/schemas/{name}"}
    return jsonschema.Draft4Validator(
        schema, registry=_registry(), format_checker=jsonschema.FormatChecker()
    )


def check(body: object, spec: str, name: str) -> None:
    """Raise jsonschema.ValidationError unless ``body`` is a ``name`` of ``spec``."""
    validator(spec, name).validate(body)
