from __future__ import annotations

from dataclasses import dataclass

from haoka.core.errors import NotFound
from haoka.core.pii import mask_phone
from haoka.logistics import domain
from haoka.logistics.models import SavedAddress, Shipment, TrackingEvent


class AddressNotFound(NotFound):
    code = "address_not_found"
    message = "收货地址不存在"


def shipment_for(*, order_ref: str) -> Shipment | None:
    return Shipment.objects.filter(order_ref=order_ref).first()


def tracking(*, tracking_no: str) -> list[TrackingEvent]:
    return list(TrackingEvent.objects.filter(tracking_no=tracking_no).order_by("occurred_at", "id"))


def courier_name(code: str) -> str:
    """The courier's Chinese name (an unknown code as it is, none as 快递)."""
    return domain.courier_name(code)


@dataclass(frozen=True)
class AddressView:
    """An address-book entry as its owner sees it in a list: the phone masked."""

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

    @property
    def region(self) -> str:
        """广东省 深圳市 南山区 (a municipality's city is not repeated)."""
        parts = [self.province, self.city, self.district]
        if self.city == self.province or self.city == self.district:
            parts.remove(self.city)
        return " ".join(parts)


def _view(address: SavedAddress) -> AddressView:
    return AddressView(
        id=address.pk,
        receiver=address.receiver,
        phone_masked=mask_phone(address.phone),
        province_code=address.province_code,
        city_code=address.city_code,
        district_code=address.district_code,
        province=address.province,
        city=address.city,
        district=address.district,
        detail=address.detail,
        is_default=address.is_default,
    )


def address_book(*, user_id: int) -> list[AddressView]:
    """The owner's addresses, the default first, then the most recently changed."""
    rows = SavedAddress.objects.filter(user_id=user_id).order_by(
        "-is_default", "-updated_at", "-id"
    )
    return [_view(a) for a in rows]


def address_of(*, user_id: int, address_id: int) -> SavedAddress:
    """One entry of the owner's, with its clear phone (their edit form, their checkout).
    Raises AddressNotFound, also for someone else's entry."""
    address = SavedAddress.objects.filter(pk=address_id, user_id=user_id).first()
    if address is None:
        raise AddressNotFound(address_id=address_id)
    return address


def view_of(*, user_id: int, address_id: int) -> AddressView:
    """One entry as a list shows it. Raises AddressNotFound."""
    return _view(address_of(user_id=user_id, address_id=address_id))


def shipping_fields(*, user_id: int, address_id: int) -> dict:
    """An entry of the owner's as a checkout's shipping address (codes, receiver, phone,
    street address). Raises AddressNotFound."""
    address = address_of(user_id=user_id, address_id=address_id)
    return {
        "province_code": address.province_code,
        "city_code": address.city_code,
        "district_code": address.district_code,
        "detail": address.detail,
        "receiver": address.receiver,
        "phone": address.phone,
    }
