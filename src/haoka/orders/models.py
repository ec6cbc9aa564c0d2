"""Tables of the orders domain."""

from django.db import models  # noqa: F401
