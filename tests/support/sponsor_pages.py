"""Sponsored data for the page tests: a line that watched an app on a sponsor's 定向免流
campaign through real online sessions (Nchf over the WSGI app), its slices settled."""

from __future__ import annotations

import datetime as dt

from django.test import Client

from haoka.charging import sponsored
from haoka.lines.models import Line
from tests.support.charging import BASE, charging_token, data_unit, post, request_body

MB = 1 << 20


def watch(line: Line, *, rg: int, grants: int, size: int = 64 * MB, at: dt.datetime) -> None:
    """One session of the line on rating group ``rg``: ``grants`` grants of ``size`` bytes,
    all used, then released; the worker settles the slices used up."""
    client, token = Client(), charging_token(at)
    first = request_body(line, seq=0, units=[data_unit(rg, request=size)], at=at)
    created = post(client, BASE, first, token)
    assert created.status_code == 201, created.content
    ref = created["Location"].rsplit("/", 1)[1]
    for seq in range(1, grants):
        body = request_body(line, seq=seq, units=[data_unit(rg, request=size, used=size)], at=at)
        assert post(client, f"{BASE}/{ref}/update", body, token).status_code == 200
    last = request_body(line, seq=grants, units=[data_unit(rg, used=size)], at=at)
    assert post(client, f"{BASE}/{ref}/release", last, token).status_code == 204
    sponsored.settle(now=at)
