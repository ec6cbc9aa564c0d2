"""Bodies checked against 3GPP's own OpenAPI definitions (Rel-17: Nchf_ConvergedCharging of
TS 32.291 by default, any other file by ``spec=``, e.g. the NRF's TS 29.510, with the TS 29.571
types they refer to), loaded from ``../shared/specs/3gpp-rel17`` (see that folder's README) with
every cross-file ``$ref`` followed; missing specs fail the test, they do not skip it."""

from __future__ import annotations

import datetime as dt
import functools
import os
import uuid
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4


def _specs() -> Path:
    """``HAOKA_SPECS`` if set, else ``../shared/specs`` beside the project, else the workplace's
    ``/work/shared/specs`` (a clone elsewhere, as CI's, still finds them); never skipped."""
    here = Path(__file__).resolve().parents[2].parent / "shared" / "specs"
    for folder in (os.environ.get("HAOKA_SPECS"), here, Path("/work/shared/specs")):
        if folder and (Path(folder) / "3gpp-rel17").is_dir():
            return Path(folder) / "3gpp-rel17"
    return here / "3gpp-rel17"  # missing: the first read says where they were looked for


SPECS = _specs()
NCHF = "TS32291_Nchf_ConvergedCharging.yaml"
COMMON = "TS29571_CommonData.yaml"
_BASE = "https://specs.3gpp.test/rel17/"
FORMATS = jsonschema.FormatChecker([])


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339 date-time: ISO 8601 with a zone ("Z" or an offset)."""
    if not isinstance(value, str) or "T" not in value:
        raise ValueError(value)
    return dt.datetime.fromisoformat(value).tzinfo is not None


@FORMATS.checks("uuid", raises=ValueError)
def _uuid(value: object) -> bool:
    return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()


@functools.cache  # parsed once per file: the registry itself does not keep what it fetched
def _retrieve(uri: str) -> Resource:
    name = uri.removeprefix(_BASE)
    document = yaml.safe_load((SPECS / name).read_text(encoding="utf-8"))
    return Resource(contents=document, specification=DRAFT4)


@functools.cache
def _validator(spec: str, schema: str) -> jsonschema.Draft4Validator:
    ref = {"$ref": f"{_BASE}{spec}#/components/schemas/{schema}"}
    registry = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    return jsonschema.Draft4Validator(ref, registry=registry, format_checker=FORMATS)


def check(body: object, schema: str, *, spec: str = NCHF) -> None:
    """Raise jsonschema.ValidationError unless ``body`` is a valid ``schema`` of ``spec``
    (``components/schemas/<schema>``)."""
    _validator(spec, schema).validate(body)


def check_answer(response) -> dict | None:
    """Check a Django test response of an Nchf endpoint: a ChargingDataResponse for 200/201,
    an empty 204, or ProblemDetails (application/problem+json). Returns the decoded body."""
    if response.status_code == 204:
        assert response.content == b""
        return None
    body = response.json()
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"
        check(body, "ProblemDetails", spec=COMMON)
    else:
        check(body, "ChargingDataResponse")
    return body
