"""The WSGI application: Django for everything, except the online-charging paths, which go
straight to their framework-free handler (see ``haoka.charging.nchf_api``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haoka.settings")
django_application = get_wsgi_application()

from haoka.charging import nchf_api  # noqa: E402  (needs the apps loaded)

_NCHF = "/nchf-convergedcharging/"


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(_NCHF):
        return nchf_api.wsgi_app(environ, start_response)
    return django_application(environ, start_response)
