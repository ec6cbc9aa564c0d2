"""An agent's public shop (/s/<code>) as consumers see it, and the cookies it leaves: the
referral (the last shop visited wins, for the checkout's attribution) and the device id (for
the fraud checks)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.shortcuts import render
from django.views.decorators.http import require_safe

from haoka.distribution import queries as dist_queries
from haoka.web.common import not_found

SHOP_NOT_FOUND = "店铺不存在或已关闭"

# ---------------------------------------------------------------- referral cookies

REF_COOKIE = "hk_ref"
REF_SALT = "haoka.web.hk_ref"
REF_MAX_AGE = 30 * 24 * 3600
DEVICE_COOKIE = "hk_dev"
DEVICE_MAX_AGE = 2 * 365 * 24 * 3600


def referral_code(request) -> str:
    """The code of the shop the visitor came through last (signed, 30 days), or ""."""
    return request.get_signed_cookie(REF_COOKIE, default="", salt=REF_SALT, max_age=REF_MAX_AGE)


def remember_referral(request, response, code: str) -> None:
    """The last shop visited wins."""
    response.set_signed_cookie(
        REF_COOKIE,
        code,
        salt=REF_SALT,
        max_age=REF_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )


def device_id(request) -> str:
    """This browser's random id (for fraud checks), made on first need and kept on
    ``request`` until :func:`keep_device` stores it."""
    value = request.COOKIES.get(DEVICE_COOKIE, "")
    if 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum():
        return value
    if not getattr(request, "_hk_new_device", ""):
        request._hk_new_device = secrets.token_urlsafe(18)
    return request._hk_new_device


def keep_device(request, response) -> None:
    """Set the device cookie once per browser (when this request made the id)."""
    new = getattr(request, "_hk_new_device", "")
    if new:
        response.set_cookie(
            DEVICE_COOKIE,
            new,
            max_age=DEVICE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )


@dataclass(frozen=True)
class ShopCard:
    plan: object  # catalog Plan
    markup_fen: int
    checkout_fen: int  # first top-up + markup: what checkout asks for (the number aside)


def shop_cards(items: Iterable[dict]) -> list[ShopCard]:
    return [
        ShopCard(
            plan=item["plan"],
            markup_fen=item["markup_fen"],
            checkout_fen=item["plan"].first_topup_fen + item["markup_fen"],
        )
        for item in items
    ]


# ---------------------------------------------------------------- the public shop


@require_safe
def shop(request, code: str):
    """The agent's mobile shop: products with their price; 立即办理 goes to 选号 with the
    plan chosen. The visit remembers the agent (last shop wins) for the checkout."""
    found = dist_queries.public_shop(code=code)
    if found is None:
        return not_found(request, SHOP_NOT_FOUND)
    context = {
        "nav": "plans",
        "shop": found,
        "cards": shop_cards(found.items),
    }
    response = render(request, "web/shop/shop.html", context)
    remember_referral(request, response, found.code)
    device_id(request)
    keep_device(request, response)
    return response
