"""The published interface definitions (``../shared/specs/`` from the project's root, or
``HAOKA_SPECS``), loaded as they are: a JSON Schema validator for any schema of a 3GPP
OpenAPI file, following ``$ref``s across files (``TS29571_CommonData.yaml#/...``)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import jsonschema
import referencing
import yaml
from referencing.jsonschema import DRAFT202012

REPO = Path(__file__).resolve().parents[2]
_CANDIDATES = [os.environ.get("HAOKA_SPECS", ""), REPO.parent / "shared" / "specs",
               "/work/shared/specs"]  # fmt: skip


def specs_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate and Path(candidate, "README.md").is_file():
            return Path(candidate)
    raise FileNotFoundError("the published specs (../shared/specs or HAOKA_SPECS) are missing")


@functools.cache
def _document(folder: str, name: str) -> dict:
    return yaml.safe_load((specs_dir() / folder / name).read_text(encoding="utf-8"))


def _retrieve(folder: str):
    def retrieve(uri: str) -> referencing.Resource:
        return DRAFT202012.create_resource(_document(folder, uri))

    return retrieve


def validator(*, folder: str = "3gpp-rel17", file: str, schema: str) -> jsonschema.Validator:
    """A validator of ``components/schemas/<schema>`` of ``file`` (in ``folder``)."""
    registry = referencing.Registry(retrieve=_retrieve(folder))
    root = {"$ref": f"{file}#/components/schemas/{schema}"}
    return jsonschema.Draft202012Validator(
        root, registry=registry, format_checker=jsonschema.FormatChecker()
    )
