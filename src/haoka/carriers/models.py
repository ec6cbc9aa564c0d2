"""Tables of the carriers domain."""

from django.db import models  # noqa: F401
