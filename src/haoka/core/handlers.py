"""The WSGI handler of the REST API: Django's own, with the API's middleware only.

An API request names its caller with a bearer token and speaks JSON. Sessions, CSRF cookies,
the language negotiation, flash messages and frame options are the pages' concerns: they cost
an API request about a tenth of its CPU and decide nothing in it. ``settings.API_MIDDLEWARE``
lists what the API keeps (request ids, security headers, bearer tokens, idempotency keys);
``haoka.wsgi`` sends ``/api/`` paths here and everything else to the full chain.
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler


class ApiHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds its chain from settings.MIDDLEWARE; this runs once, at start-up, before
        # any request is served, so lending it the API's list for the build is safe.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full
