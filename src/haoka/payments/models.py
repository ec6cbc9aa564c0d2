"""Tables of the payments domain."""

from django.db import models  # noqa: F401
