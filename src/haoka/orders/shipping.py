"""An order's shipping address, checked and written as couriers print it: the 省/市/区 by
their GB/T 2260 codes (``logistics.divisions``; what the pages send) or, as API clients sent
them before the codes, by their names in full or short."""

from __future__ import annotations

from haoka.catalog import domain as catalog_domain
from haoka.core.errors import ValidationError
from haoka.core.phone import parse_mainland_mobile
from haoka.logistics import divisions


class InvalidAddress(ValidationError):
    code = "invalid_address"
    message = "收货地址不完整"


class AddressNotDeliverable(ValidationError):
    code = "address_not_deliverable"
    message = "号卡仅支持寄往中国大陆地址，暂不支持香港、澳门、台湾"


ADDRESS_FIELDS = ("province", "city", "district", "detail", "receiver", "phone")
#: The GB/T 2260 codes of an address chosen in the 省/市/区 selects (``logistics.divisions``).
DIVISION_FIELDS = ("province_code", "city_code", "district_code")


def clean_address(raw: dict) -> dict:
    """The address with its province and city in their full official names ("广东"/"深圳" ->
    "广东省"/"深圳市", as couriers print them). With division codes (the pages always send
    them) the names are the table's and the codes are kept; without them (API clients of
    before) the names are taken as written. Raises InvalidAddress (which field, in Chinese),
    InvalidDivision (a forged code, a city of another province), AddressNotDeliverable (Hong
    Kong, Macau, Taiwan)."""
    address = {k: str(raw.get(k, "") or "").strip() for k in ADDRESS_FIELDS}
    codes = {k: str(raw.get(k) or "").strip() for k in DIVISION_FIELDS}
    if any(codes.values()):
        missing = [k.removesuffix("_code") for k, v in codes.items() if not v]
        missing += [k for k in ADDRESS_FIELDS[3:] if not address[k]]
        if missing:
            raise InvalidAddress(missing=missing)
        place = divisions.place(**codes)
        address.update({k: getattr(place, k) for k in (*DIVISION_FIELDS, *ADDRESS_FIELDS[:3])})
    missing = [k for k in ADDRESS_FIELDS if not address[k]]
    if missing:
        raise InvalidAddress(missing=missing)
    province = catalog_domain.canonical_province(address["province"])
    if not province:
        raise InvalidAddress("省份不正确", field="province", value=address["province"][:16])
    if not catalog_domain.deliverable(province):
        raise AddressNotDeliverable(province=province)
    address["province"] = province
    address["city"] = catalog_domain.canonical_city(address["city"], province=province)
    if len(address["detail"]) > 120 or len(address["receiver"]) > 20:
        raise InvalidAddress("地址或收件人过长")
    address["phone"] = parse_mainland_mobile(address["phone"])
    return address
