"""The 省/市/区 table (public, for the cascading selects) and a consumer's address book
(``/me/addresses``: only the owner's entries; another's id is a 404)."""

from __future__ import annotations

from ninja import Field, Router, Schema
from ninja.responses import Status

from haoka.accounts.auth import bearer
from haoka.core import clock
from haoka.core.schema_types import Id
from haoka.logistics import addresses, divisions, queries

router = Router(tags=["addresses"])
BASE = "/me/addresses"


class DivisionOut(Schema):
    code: str
    name: str


class DivisionsOut(Schema):
    items: list[DivisionOut]


class AddressBookIn(Schema):
    receiver: str = Field(..., max_length=100)
    phone: str = Field(..., max_length=20)
    province_code: str = Field(..., max_length=2, description="省级代码（GET /divisions）")
    city_code: str = Field(..., max_length=4)
    district_code: str = Field(..., max_length=6)
    detail: str = Field(..., max_length=400, description="街道、小区、门牌号")
    is_default: bool = False


class AddressOut(Schema):
    id: int
    receiver: str
    phone_masked: str
    province_code: str
    city_code: str
    district_code: str
    province: str
    city: str
    district: str
    detail: str
    is_default: bool


class AddressBookOut(Schema):
    items: list[AddressOut]
    next: str | None = None


@router.get("/divisions", response=DivisionsOut, auth=None)
def division_list(request, parent: str = ""):
    """省/市/区 (GB/T 2260): the provinces, or what is under ``parent`` (a province's cities,
    a city's districts)."""
    return {"items": divisions.children(code=parent)}


@router.get(BASE, response=AddressBookOut, auth=bearer)
def address_list(request):
    """My addresses, the default first (at most ``ADDRESS_BOOK_MAX``: one page)."""
    return {"items": queries.address_book(user_id=request.auth.pk), "next": None}


def _fields(body: AddressBookIn) -> dict:
    return body.dict(exclude={"is_default"})


@router.post(BASE, response={201: AddressOut}, auth=bearer)
def address_add(request, body: AddressBookIn):
    saved = addresses.add_address(
        user_id=request.auth.pk, make_default=body.is_default, now=clock.now(), **_fields(body)
    )
    return Status(201, queries.view_of(user_id=request.auth.pk, address_id=saved.pk))


@router.get(BASE + "/{address_id}", response=AddressOut, auth=bearer)
def address_get(request, address_id: Id):
    return queries.view_of(user_id=request.auth.pk, address_id=address_id)


@router.put(BASE + "/{address_id}", response=AddressOut, auth=bearer)
def address_edit(request, address_id: Id, body: AddressBookIn):
    addresses.edit_address(
        user_id=request.auth.pk,
        address_id=address_id,
        make_default=body.is_default,
        now=clock.now(),
        **_fields(body),
    )
    return queries.view_of(user_id=request.auth.pk, address_id=address_id)


@router.delete(BASE + "/{address_id}", response={204: None}, auth=bearer)
def address_delete(request, address_id: Id):
    addresses.delete_address(user_id=request.auth.pk, address_id=address_id)
    return Status(204, None)


@router.post(BASE + "/{address_id}/default", response=AddressOut, auth=bearer)
def address_default(request, address_id: Id):
    addresses.set_default(user_id=request.auth.pk, address_id=address_id)
    return queries.view_of(user_id=request.auth.pk, address_id=address_id)
