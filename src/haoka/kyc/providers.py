"""Name + ID verification (公安二要素) behind one interface.

The provider is the dotted path in the ``KYC_PROVIDER`` setting, else the
``HAOKA_KYC_PROVIDER`` environment variable, else :data:`DEFAULT_PROVIDER` (the sandbox).
A real provider is an adapter class with a no-argument constructor implementing
:class:`IdentityVerifier`; it raises :class:`VerifierUnavailable` when it cannot answer
(timeouts, outages), never answers "no match" for a failure of its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from haoka.core.errors import HaokaError

DEFAULT_PROVIDER = "haoka.kyc.providers.SandboxVerifier"


class VerifierUnavailable(HaokaError):
    code = "kyc_verifier_unavailable"
    status = 503
    message = "实名核验服务暂不可用，请稍后重试"


@dataclass(frozen=True)
class VerifierAnswer:
    match: bool
    reason: str = ""


class IdentityVerifier(Protocol):
    def verify(self, *, name: str, id_number: str) -> VerifierAnswer:
        """Does ``name`` belong to ``id_number``? Raises VerifierUnavailable."""
        ...


class SandboxVerifier:
    """Deterministic stand-in: no match when the name contains 假 or the sequence digits
    (positions 15-17) are 999; a match otherwise. Refused outside sandbox/debug mode, so a
    production deployment cannot pass everyone by forgetting to configure a provider."""

    def __init__(self) -> None:
        if not (settings.SANDBOX or settings.DEBUG):
            raise ImproperlyConfigured(
                "the sandbox identity verifier only runs with HAOKA_SANDBOX=1; "
                "set HAOKA_KYC_PROVIDER to a real provider"
            )

    def verify(self, *, name: str, id_number: str) -> VerifierAnswer:
        if "假" in name:
            return VerifierAnswer(False, "sandbox_name")
        if id_number[14:17] == "999":
            return VerifierAnswer(False, "sandbox_sequence")
        return VerifierAnswer(True)


def provider_path() -> str:
    return (
        getattr(settings, "KYC_PROVIDER", None)
        or os.environ.get("HAOKA_KYC_PROVIDER")
        or DEFAULT_PROVIDER
    )


def verifier() -> IdentityVerifier:
    return import_string(provider_path())()
