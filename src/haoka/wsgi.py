"""The WSGI application: Django for pages and admin; the REST API on Django with the API's own
middleware (``haoka.core.handlers``); the online-charging paths straight to their
framework-free handler (see ``haoka.charging.nchf_api``)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haoka.settings")
django_application = get_wsgi_application()

from haoka.charging import nchf_api  # noqa: E402  (needs the apps loaded)
from haoka.core.handlers import ApiHandler  # noqa: E402  (needs the apps loaded)

_NCHF = "/nchf-convergedcharging/"
_API = "/api/"
api_application = ApiHandler()
import haoka.urls  # noqa: E402, F401  (every view and schema, before the freeze below)

# What startup loaded (Django, the apps, the URLs with every view) lives as long as the
# process: frozen, the collector's passes no longer walk it. Under bench/checkout.py the
# collector's share of the web process's CPU went from 4% to under 1% (py-spy).
gc.freeze()


def serves_pages(path: str) -> bool:
    """Whether ``application`` hands ``path`` to Django's full chain (pages, admin), rather
    than to the API's chain or the Nchf handler."""
    return not path.startswith((_NCHF, _API))


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith(_NCHF):
        return nchf_api.wsgi_app(environ, start_response)
    handler = api_application if path.startswith(_API) else django_application
    response = handler(environ, start_response)
    if getattr(response, "streaming", True):
        return response  # files and streams: the server iterates them
    # A whole body is handed over as one list: the server sends it in one piece instead of
    # iterating the response object chunk by chunk (granian spent a sixth of the web
    # process's CPU doing that). close() runs as the WSGI spec says, after the body is taken.
    try:
        return [response.content]
    finally:
        response.close()
