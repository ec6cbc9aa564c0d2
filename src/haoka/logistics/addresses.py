"""Use cases of a consumer's address book: add, edit, delete, make default. Only the owner
reaches an entry: someone else's id is "not found", so ids cannot be probed.

Each function owns its transaction and locks the owner's entries first, so two tabs changing
the default at once leave exactly one (the UNIQUE default per user is the last guard).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from haoka.core.errors import Conflict, ValidationError
from haoka.logistics import divisions, domain
from haoka.logistics.models import SavedAddress
from haoka.logistics.queries import AddressNotFound


class AddressBookFull(ValidationError):
    code = "address_book_full"
    message = f"最多保存 {domain.ADDRESS_BOOK_MAX} 个收货地址，请先删除不用的地址"


class AddressBookBusy(Conflict):
    code = "address_book_busy"
    message = "地址簿正在修改，请稍后重试"


def _entry(*, receiver, phone, province_code, city_code, district_code, detail) -> dict:
    """The fields of an entry, checked. Raises InvalidDivision, InvalidAddressEntry,
    InvalidMsisdn."""
    place = divisions.place(
        province_code=province_code, city_code=city_code, district_code=district_code
    )
    receiver, phone, detail = domain.clean_entry(receiver=receiver, phone=phone, detail=detail)
    return {
        "receiver": receiver,
        "phone": phone,
        "detail": detail,
        "province_code": place.province_code,
        "city_code": place.city_code,
        "district_code": place.district_code,
        "province": place.province,
        "city": place.city,
        "district": place.district,
    }


def _locked_book(user_id: int) -> list[SavedAddress]:
    """The owner's entries, locked, newest first."""
    return list(
        SavedAddress.objects.select_for_update()
        .filter(user_id=user_id)
        .order_by("-updated_at", "-id")
    )


def _owned(book: list[SavedAddress], address_id: int) -> SavedAddress:
    found = next((a for a in book if a.pk == address_id), None)
    if found is None:
        raise AddressNotFound(address_id=address_id)
    return found


def _clear_default(user_id: int, *, keep: int | None = None) -> None:
    SavedAddress.objects.filter(user_id=user_id, is_default=True).exclude(pk=keep).update(
        is_default=False
    )


def add_address(
    *, user_id: int, make_default: bool = False, now: dt.datetime, **fields
) -> SavedAddress:
    """A new entry (``fields``: receiver, phone, province_code, city_code, district_code,
    detail); the first one, or one asked to be, is the default. Raises AddressBookFull,
    AddressBookBusy, InvalidDivision, InvalidAddressEntry, InvalidMsisdn."""
    values = _entry(**fields)
    try:
        with transaction.atomic():
            book = _locked_book(user_id)
            if len(book) >= domain.ADDRESS_BOOK_MAX:
                raise AddressBookFull(limit=domain.ADDRESS_BOOK_MAX)
            default = make_default or not book
            if default:
                _clear_default(user_id)
            return SavedAddress.objects.create(
                user_id=user_id, is_default=default, created_at=now, updated_at=now, **values
            )
    except IntegrityError:  # a first entry added from two tabs at once
        raise AddressBookBusy() from None


def edit_address(
    *, user_id: int, address_id: int, make_default: bool = False, now: dt.datetime, **fields
) -> SavedAddress:
    """Replace an entry's fields (and make it the default when asked). Raises AddressNotFound,
    InvalidDivision, InvalidAddressEntry, InvalidMsisdn."""
    values = _entry(**fields)
    with transaction.atomic():
        address = _owned(_locked_book(user_id), address_id)
        if make_default and not address.is_default:
            _clear_default(user_id, keep=address.pk)
            values["is_default"] = True
        for name, value in {**values, "updated_at": now}.items():
            setattr(address, name, value)
        address.save()
    return address


def delete_address(*, user_id: int, address_id: int) -> None:
    """Delete an entry; when it was the default, the most recent other one becomes it.
    Raises AddressNotFound."""
    with transaction.atomic():
        book = _locked_book(user_id)
        address = _owned(book, address_id)
        address.delete()
        heir = domain.default_after_delete(
            deleted_was_default=address.is_default,
            others=[a.pk for a in book if a.pk != address_id],
        )
        if heir is not None:
            SavedAddress.objects.filter(pk=heir).update(is_default=True)


def set_default(*, user_id: int, address_id: int) -> SavedAddress:
    """The entry checkout offers first. Raises AddressNotFound."""
    with transaction.atomic():
        address = _owned(_locked_book(user_id), address_id)
        if not address.is_default:
            _clear_default(user_id, keep=address.pk)
            address.is_default = True
            SavedAddress.objects.filter(pk=address.pk).update(is_default=True)
    return address
