"""Use cases of the catalog: load (or refresh) the catalog from seed data, idempotently."""

from __future__ import annotations

from django.db import transaction

from haoka.catalog import seed_data
from haoka.catalog.models import Benefit, Carrier, Pack, Plan, RatingGroup, Tag
from haoka.core import clock

_PLAN_M2M = ("targeted_groups", "zero_rated_groups", "tags", "benefits")
_PACK_M2M = ("carriers", "rating_groups")


def _upsert(model, rows, *, m2m=(), fk=None):
    """Create or update rows by ``code``; many-to-many and foreign keys given as codes."""
    for row in rows:
        values = {k: v for k, v in row.items() if k not in m2m and k != "code"}
        for field, target in (fk or {}).items():
            code = values.pop(field, None)
            values[field] = target.objects.get(code=code) if code else None
        obj, _ = model.objects.update_or_create(code=row["code"], defaults=values)
        for field in m2m:
            target = model._meta.get_field(field).related_model
            getattr(obj, field).set(target.objects.filter(code__in=row.get(field, [])))


def load_seed_catalog() -> dict[str, int]:
    """Upsert the demo catalog (carriers, app classes, benefits, tags, plans, packs)."""
    problems = seed_data.validate()
    if problems:
        raise ValueError(f"seed data invalid: {problems[:5]}")
    with transaction.atomic():
        _upsert(Carrier, seed_data.CARRIERS)
        _upsert(RatingGroup, seed_data.RATING_GROUPS)
        _upsert(Benefit, seed_data.BENEFITS)
        _upsert(Tag, seed_data.TAGS)
        now = clock.now()
        _upsert(
            Plan,
            [{**p, "updated_at": now} for p in seed_data.PLANS],
            m2m=_PLAN_M2M,
            fk={"carrier": Carrier},
        )
        _upsert(Pack, seed_data.PACKS, m2m=_PACK_M2M, fk={"benefit": Benefit})
    return {
        "carriers": len(seed_data.CARRIERS),
        "plans": len(seed_data.PLANS),
        "packs": len(seed_data.PACKS),
    }
