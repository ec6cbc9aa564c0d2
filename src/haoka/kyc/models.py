"""Tables of the kyc domain."""

from django.db import models  # noqa: F401
