"""Tables of the logistics domain."""

from django.db import models  # noqa: F401
