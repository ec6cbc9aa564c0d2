"""Tables of the lines domain."""

from django.db import models  # noqa: F401
