"""The sponsors API: applying (any signed-in person), staff's review, and the sponsor's own
console under ``/sponsor/...`` (its API tokens here; wallet and campaigns in ``api_money``
and ``api_campaigns``).

Every ``/sponsor/...`` endpoint acts for the caller's sponsor (:class:`SponsorCaller`): a
signed-in member of an APPROVED sponsor, or an API token with the ``sponsor`` scope of such a
member. Anyone else gets 403; another sponsor's object is 404 (it is looked up within the
caller's sponsor only)."""

from __future__ import annotations

from ninja import Router
from ninja.responses import Status

from haoka.accounts import queries as accounts_queries
from haoka.accounts.auth import BearerUser, StaffOrScope, bearer
from haoka.core import clock, idempotency
from haoka.core.errors import PermissionDenied
from haoka.core.pagination import paginate
from haoka.core.schema_types import Id
from haoka.sponsors import operations, queries, schemas
from haoka.sponsors.domain import SPONSOR_MACHINE
from haoka.sponsors.models import Sponsor

router = Router(tags=["sponsors"])
staff = StaffOrScope("sponsors")


class NotASponsor(PermissionDenied):
    code = "not_a_sponsor"
    message = "仅已通过审核的后向客户可以使用"


class SponsorCaller(BearerUser):
    """A member of an APPROVED sponsor, by a session or a ``sponsor``-scoped API token; the
    sponsor is left on ``request.sponsor``. ``sessions_only`` refuses tokens (managing
    tokens: a leaked token must not mint others)."""

    def __init__(self, *, sessions_only: bool = False) -> None:
        self.sessions_only = sessions_only

    def __call__(self, request):
        user = super().__call__(request)
        if user is None:
            return None
        token = request.haoka_token
        session = accounts_queries.is_session_token(token)
        scoped = token is not None and operations.TOKEN_SCOPE in (token.scopes or [])
        if not (session or (scoped and not self.sessions_only)):
            raise NotASponsor()
        sponsor = queries.approved_sponsor_of(user_id=user.pk)
        if sponsor is None:
            raise NotASponsor()
        request.sponsor = sponsor
        return user


sponsor_caller = SponsorCaller()
sponsor_session = SponsorCaller(sessions_only=True)


def _staff_sponsor(s: Sponsor) -> dict:
    return {
        "id": s.sponsor_id,
        "sponsor_id": s.sponsor_id,
        "company_name": s.company_name,
        "uscc": s.uscc,
        "kind": s.kind,
        "status": s.status,
        "status_label": SPONSOR_MACHINE.label(s.status),
        **operations.contact_masked(s),
        "applied_at": s.applied_at,
        "decided_at": s.decided_at,
        "decision_reason": s.decision_reason,
    }


# ---------------------------------------------------------------- applying and review


@router.post("/sponsors/apply", response={201: schemas.ApplyOut}, auth=bearer)
def apply(request, body: schemas.ApplyIn):
    """Apply to become a sponsor (后向客户): 409 ``uscc_already_registered`` for a code
    already applied with."""
    sponsor = operations.apply(
        user_id=request.auth.pk,
        company_name=body.company_name,
        uscc=body.uscc,
        kind=body.kind,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        now=clock.now(),
    )
    return Status(201, {"id": sponsor.sponsor_id, "status": sponsor.status})


@router.get("/staff/sponsors", response=schemas.StaffSponsorPage, auth=staff)
def staff_sponsors(
    request, status: str | None = None, limit: int | None = None, after: str | None = None
):
    """Applications and sponsors, newest application first (``status=PENDING``: the queue)."""
    if status is not None:
        status = SPONSOR_MACHINE.state(status.strip().upper()).value
    page = paginate(
        queries.staff_sponsors(status=status), order=("-applied_at", "-id"), limit=limit,
        after=after,
    )  # fmt: skip
    return {"items": [_staff_sponsor(s) for s in page.items], "next": page.next}


@router.post("/staff/sponsors/{sponsor_id}/decision", response=schemas.StaffSponsorOut, auth=staff)
def staff_decide(request, sponsor_id: str, body: schemas.DecisionIn):
    """Approve or reject a PENDING application (409 otherwise)."""
    sponsor = operations.decide(
        sponsor_id=sponsor_id[:20],
        approve=body.approve,
        actor=f"staff:{request.auth.pk}",
        reason=body.reason,
        now=clock.now(),
    )
    return _staff_sponsor(sponsor)


# ---------------------------------------------------------------- the sponsor's console


@router.get("/sponsor", response=schemas.SponsorOut, auth=sponsor_caller)
def me(request):
    """The caller's sponsor."""
    s = request.sponsor
    return {"sponsor_id": s.sponsor_id, "company_name": s.company_name, "kind": s.kind,
            "status": s.status}  # fmt: skip


@router.post("/sponsor/tokens", response={201: schemas.TokenCreatedOut}, auth=sponsor_session)
@idempotency.never_replayed  # the token is shown once: a repeat must not hand it out again
def create_token(request, body: schemas.TokenIn):
    """An API token with the ``sponsor`` scope for the signed-in member, shown once."""
    issued = operations.create_token(
        sponsor=request.sponsor, user_id=request.auth.pk, name=body.name, now=clock.now()
    )
    listed = issued.listing
    return Status(201, {"id": listed.id, "name": listed.name, "token": issued.token,
                        "prefix": listed.prefix, "scopes": listed.scopes})  # fmt: skip


@router.get("/sponsor/tokens", response=list[schemas.TokenOut], auth=sponsor_session)
def list_tokens(request):
    """The sponsor's live API tokens (their prefix only), newest first."""
    return [vars(t) for t in operations.tokens(sponsor=request.sponsor)]


@router.delete("/sponsor/tokens/{token_id}", response={204: None}, auth=sponsor_session)
def revoke_token(request, token_id: Id):
    """Revoke one of the sponsor's tokens (404 for another sponsor's)."""
    operations.revoke_token(
        sponsor=request.sponsor, token_id=token_id, user_id=request.auth.pk, now=clock.now()
    )
    return Status(204, None)
