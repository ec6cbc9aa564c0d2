"""Absolute URLs haoka hands out (shop links, invitations, Nchf's ``Location``): always on the
public base URL (``settings.PUBLIC_BASE_URL``, README "Configuration"), never on the ``Host`` a
request happened to name, which the caller chooses."""

from __future__ import annotations

from django.conf import settings


def absolute_url(path: str) -> str:
    """``path`` (``/s/AB12``, with its query if any) on the public base URL."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/{path.lstrip('/')}"
