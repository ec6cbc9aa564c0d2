"""Use cases of distribution: applying and being approved as an agent, the shop, and
attributing an order (with its chain and terms) when it is created. Commission itself is in
:mod:`haoka.distribution.commission`; withdrawals, credit, fraud and training in their own
modules."""

from __future__ import annotations

import datetime as dt
import json

from django.db import IntegrityError, transaction

from haoka.accounts import operations as accounts_operations
from haoka.accounts import queries as accounts_queries
from haoka.catalog import queries as catalog_queries
from haoka.core import pii
from haoka.core.errors import (
    Conflict,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from haoka.distribution import commission, credit, domain
from haoka.distribution.domain import AgentStatus, Tier
from haoka.distribution.models import (
    Agent,
    AgentEvent,
    CommissionRule,
    Course,
    Product,
    QuizAttempt,
    Sale,
    ShopItem,
)
from haoka.kyc import operations as kyc_operations
from haoka.kyc import queries as kyc_queries
from haoka.notices import operations as notices
from haoka.notices.templates import Kind


class AgentNotFound(NotFound):
    code = "agent_not_found"
    message = "代理不存在"


class AlreadyApplied(Conflict):
    code = "agent_already_applied"
    message = "您已提交过代理申请"


class InvalidInviteCode(ValidationError):
    code = "agent_invite_invalid"
    message = "邀请码无效"


class AgentNotActive(PermissionDenied):
    code = "agent_not_active"
    message = "代理账号未通过审核或已冻结"


class ProductLocked(Conflict):
    code = "product_locked"
    message = "该产品暂未对您开放"


class ProductNotFound(NotFound):
    code = "product_not_found"
    message = "该套餐不在分销产品中"


class CourseNotFound(NotFound):
    code = "course_not_found"
    message = "课程不存在或未发布"


def apply(
    *,
    user_id: int,
    real_name: str,
    id_number: str,
    payee_channel: str,
    payee_account: str,
    payee_name: str,
    address: dict | None = None,
    invite_code: str = "",
    device_id: str = "",
    now: dt.datetime,
) -> Agent:
    """Apply to become an agent (a sub-agent with a level-1 agent's invite code). The person
    is verified by name and ID; the payee account's name must be that name. A rejected
    applicant may apply again. Raises InvalidIdNumber, InvalidName, TooYoung,
    IdentityMismatch, VerifierUnavailable, InvalidPayee, PayeeNameMismatch,
    InvalidInviteCode, AlreadyApplied, AgentNotActive (a frozen agent's ID)."""
    person = kyc_operations.verify_person(
        name=real_name, id_number=id_number, today=now.astimezone(domain.BEIJING).date()
    )
    account = domain.check_payee(
        channel=payee_channel, account=payee_account, payee_name=payee_name, real_name=person.name
    )
    parent = None
    if invite_code.strip():
        parent = Agent.objects.filter(
            invite_code=invite_code.strip().upper(), status=AgentStatus.APPROVED, level=1
        ).first()
        if parent is None:
            raise InvalidInviteCode()
    hashes = kyc_queries.hash_identity(
        id_number=person.id_number,
        phone=accounts_queries.phone_of(user_id=user_id),
        address=address,
    )
    if Agent.objects.filter(id_hash=hashes["id_hash"], status=AgentStatus.FROZEN).exists():
        raise AgentNotActive("该身份的代理账号已因违规冻结，不能再次申请")
    values = {
        "parent": parent,
        "level": 2 if parent else 1,
        "status": AgentStatus.PENDING,
        "real_name": person.name,
        "name_hash": pii.lookup_hash(person.name, purpose="name"),
        "id_number": person.id_number,
        "id_hash": hashes["id_hash"],
        "phone_hash": hashes["phone_hash"],
        "address": json.dumps(address or {}, ensure_ascii=False),
        "address_hash": hashes["address_hash"],
        "device_hash": pii.lookup_hash(device_id, purpose="device") if device_id else "",
        "payee_channel": payee_channel,
        "payee_account": account,
        "applied_at": now,
        "decided_at": None,
        "decision_note": "",
    }
    with transaction.atomic():
        agent = Agent.objects.select_for_update().filter(user_id=user_id).first()
        if agent is not None and agent.status != AgentStatus.REJECTED:
            raise AlreadyApplied(status=agent.status)
        if agent is None:
            try:
                with transaction.atomic():
                    agent = Agent.objects.create(user_id=user_id, **values)
            except IntegrityError as exc:
                raise AlreadyApplied() from exc
        else:
            for name, value in values.items():
                setattr(agent, name, value)
            agent.save()
        actor = f"user:{user_id}"
        _event(agent, "STATUS", "", AgentStatus.PENDING, actor=actor, reason="提交申请", now=now)
    return agent


def _event(agent: Agent, what: str, before: str, after: str, *, actor: str, reason: str, now):
    AgentEvent.objects.create(
        agent=agent,
        what=what,
        from_value=before,
        to_value=after,
        actor=actor[:80],
        reason=reason[:200],
        at=now,
    )


def decide(*, agent_id: int, approve: bool, staff_id: int | None, note: str, now) -> Agent:
    """Staff approve (the agent gets a code, a level-1 agent an invite code, ledger accounts
    and the AGENT role) or reject an application. Raises AgentNotFound, IllegalTransition."""
    with transaction.atomic():
        agent = Agent.objects.select_for_update().filter(pk=agent_id).first()
        if agent is None:
            raise AgentNotFound(agent_id=agent_id)
        target = AgentStatus.APPROVED if approve else AgentStatus.REJECTED
        if agent.status != AgentStatus.PENDING:  # a frozen agent is unfrozen, never re-approved
            raise IllegalTransition("只能审核待审核的申请", current=agent.status, target=target)
        domain.check_agent_transition(current=agent.status, target=target)
        before = agent.status
        agent.status = target
        agent.decided_at = now
        agent.decided_by_id = staff_id
        agent.decision_note = note[:200]
        if approve:
            agent.tier = domain.NEW_AGENT_TIER
            agent.credit_score = domain.NEW_AGENT_SCORE
            agent.shop_name = agent.shop_name or f"{pii.mask_name(agent.real_name)}的号卡小店"
            _assign_codes(agent)
            commission.open_agent_accounts(agent_id=agent.pk, code=agent.code)
            accounts_operations.make_agent(user_id=agent.user_id)
        agent.save()
        actor = f"staff:{staff_id}" if staff_id else "system"
        _event(agent, "STATUS", before, target, actor=actor, reason=note or "审核", now=now)
        _tell_applicant(agent, now=now)
    return agent


def _tell_applicant(agent: Agent, *, now: dt.datetime) -> None:
    """The application's outcome, in the applicant's messages and by SMS (the apply page
    promises it)."""
    if agent.status == AgentStatus.APPROVED:
        kind, values = Kind.AGENT_APPROVED, {"agent_code": agent.code}
    else:
        kind, values = Kind.AGENT_REJECTED, {"note": agent.decision_note or "资料未通过审核"}
    notices.notify(
        user_id=agent.user_id,
        kind=kind,
        key=f"agent:{agent.pk}:{agent.status.lower()}",
        values=values,
        now=now,
    )


def _assign_codes(agent: Agent) -> None:
    for _ in range(10):
        code = domain.new_code("A")
        invite = domain.new_code("Y") if agent.level == 1 else None
        if not Agent.objects.filter(code=code).exists() and not (
            invite and Agent.objects.filter(invite_code=invite).exists()
        ):
            agent.code, agent.invite_code = code, invite
            return
    raise RuntimeError("could not find a free agent code")  # 32^7 codes: not in practice


def set_status(*, agent_id: int, frozen: bool, staff_id: int | None, reason: str, now) -> Agent:
    """Freeze (no new sales attributed, no withdrawals) or unfreeze an approved agent.
    Raises AgentNotFound, IllegalTransition."""
    with transaction.atomic():
        agent = Agent.objects.select_for_update().filter(pk=agent_id).first()
        if agent is None:
            raise AgentNotFound(agent_id=agent_id)
        target = AgentStatus.FROZEN if frozen else AgentStatus.APPROVED
        domain.check_agent_transition(current=agent.status, target=target)
        before, agent.status = agent.status, target
        agent.save(update_fields=["status"])
        actor = f"staff:{staff_id}" if staff_id else "system"
        _event(agent, "STATUS", before, target, actor=actor, reason=reason, now=now)
    return agent


# ------------------------------------------------------------------------------ products


def passed_course(*, agent_id: int, course_id: int) -> bool:
    return QuizAttempt.objects.filter(agent_id=agent_id, course_id=course_id, passed=True).exists()


def may_sell(agent: Agent, product: Product) -> tuple[bool, str]:
    """Whether the agent may sell a product, and why not."""
    if not product.enabled:
        return False, "产品已下架"
    if not domain.tier_at_least(agent.tier, product.min_tier):
        return False, f"需要信用等级 {product.min_tier} 级及以上"
    if product.course_id and not passed_course(agent_id=agent.pk, course_id=product.course_id):
        return False, "需先通过对应培训课程考试"
    return True, ""


def may_sell_vanity(agent: Agent) -> bool:
    """Vanity numbers need a passed course that unlocks them, and tier C or better."""
    if not domain.tier_at_least(agent.tier, Tier.C):
        return False
    course_ids = Course.objects.filter(unlocks_vanity=True).values_list("id", flat=True)
    return QuizAttempt.objects.filter(
        agent_id=agent.pk, course_id__in=list(course_ids), passed=True
    ).exists()


def set_shop(
    *,
    agent_id: int,
    shop_name: str,
    shop_intro: str = "",
    items: list[tuple[str, int]],
    sells_vanity: bool = False,
) -> Agent:
    """Replace the shop's settings and products [(plan_code, markup_fen)]: each product must
    be open to the agent and its markup inside the range staff allow. Raises AgentNotActive,
    ProductNotFound, ProductLocked, MarkupOutOfRange, ValidationError."""
    name = (shop_name or "").strip()
    if not 2 <= len(name) <= 30:
        raise ValidationError("店铺名称应为 2–30 个字")
    if len(items) > 20 or len({p for p, _ in items}) != len(items):
        raise ValidationError("最多上架 20 个产品，且不能重复")
    with transaction.atomic():
        agent = Agent.objects.select_for_update().filter(pk=agent_id).first()
        if agent is None or agent.status != AgentStatus.APPROVED:
            raise AgentNotActive()
        products = {
            p.plan_code: p for p in Product.objects.filter(plan_code__in=[c for c, _ in items])
        }
        rows = []
        for sort, (plan_code, markup) in enumerate(items):
            product = products.get(plan_code)
            if product is None:
                raise ProductNotFound(plan_code=plan_code)
            ok, why = may_sell(agent, product)
            if not ok:
                raise ProductLocked(why, plan_code=plan_code)
            domain.check_markup(markup_fen=markup, max_markup_fen=product.max_markup_fen)
            rows.append(ShopItem(agent=agent, plan_code=plan_code, markup_fen=markup, sort=sort))
        if sells_vanity and not may_sell_vanity(agent):
            raise ProductLocked("需先通过靓号销售课程考试，且信用等级 C 级及以上")
        ShopItem.objects.filter(agent=agent).delete()
        ShopItem.objects.bulk_create(rows)
        agent.shop_name = name
        agent.shop_intro = (shop_intro or "").strip()[:120]
        agent.shop_sells_vanity = sells_vanity
        agent.save(update_fields=["shop_name", "shop_intro", "shop_sells_vanity"])
    return agent


# ------------------------------------------------------------------------------ attribution


def attribute_order(
    *,
    order_ref: str,
    agent_code: str,
    plan_code: str,
    customer_user_id: int,
    msisdn: str,
    device_id: str = "",
    plan_name: str = "",
    contact_phone: str = "",
    order_state: str = "",
    order_state_label: str = "",
    now: dt.datetime,
) -> int:
    """Attribute a new order to the agent whose code it carries, snapshotting the chain (the
    agent and an approved parent) and the terms in force; runs inside the order's
    transaction. Returns the markup the customer pays (0 when none). An unknown or inactive
    code attributes nothing (the order goes on, without an agent); a product the agent may
    not sell is attributed with nothing to earn. The sale keeps its own copy of what the
    agent's pages and fraud screening need of the order (plan name, the contact phone's
    keyed hash, the order's state: kept in step by :func:`order_moved`)."""
    code = (agent_code or "").strip().upper()
    if not code:
        return 0
    agent = Agent.objects.filter(code=code, status=AgentStatus.APPROVED).first()
    if agent is None:
        return 0
    parent = agent.parent if agent.parent and agent.parent.status == AgentStatus.APPROVED else None
    product = Product.objects.filter(plan_code=plan_code).first()
    terms = domain.Terms()
    if product is not None and may_sell(agent, product)[0]:
        item = ShopItem.objects.filter(agent=agent, plan_code=plan_code).first()
        markup = min(item.markup_fen, product.max_markup_fen) if item else 0
        terms = domain.terms_for(
            _rules(plan_code),
            plan_code=plan_code,
            seller_tier=agent.tier,
            parent_tier=parent.tier if parent else None,
            margin_fen=product.margin_fen,
            markup_fen=markup,
            at=now,
        )
    Sale.objects.create(
        order_ref=order_ref,
        agent=agent,
        parent=parent,
        seller_tier=agent.tier,
        parent_tier=parent.tier if parent else "",
        plan_code=plan_code,
        terms=terms.as_json(),
        margin_fen=terms.margin_fen,
        customer_user_id=customer_user_id,
        msisdn=msisdn,
        device_hash=pii.lookup_hash(device_id, purpose="device") if device_id else "",
        plan_name=plan_name[:80],
        contact_phone_hash=(
            kyc_queries.hash_identity(phone=contact_phone)["phone_hash"] if contact_phone else ""
        ),
        order_state=order_state,
        order_state_label=order_state_label,
        created_at=now,
    )
    credit.refresh_on_commit(agent_ids=[agent.pk])  # the order counts in the activation rate
    return terms.markup_fen


def order_moved(*, order_ref: str, state: str, state_label: str) -> None:
    """The attributed order is now in ``state`` (orders tell; nothing when no sale)."""
    Sale.objects.filter(order_ref=order_ref).update(
        order_state=state, order_state_label=state_label[:40]
    )


def _rules(plan_code: str) -> list[domain.RuleRow]:
    return [
        domain.RuleRow(
            plan_code=r.plan_code,
            tier=r.tier,
            kind=r.kind,
            amount_fen=r.amount_fen,
            rate_bp=r.rate_bp,
            threshold_fen=r.threshold_fen,
            months=r.months,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
        )
        for r in CommissionRule.objects.filter(plan_code__in=[plan_code, "*"]).order_by("id")
    ]


def save_product(
    *,
    plan_code: str,
    enabled: bool,
    margin_fen: int,
    max_markup_fen: int,
    min_tier: str,
    course_code: str = "",
) -> Product:
    """Offer a plan to agents, or change the offer: the commission margin per sale, the
    markup agents may add, the least tier, an optional course to pass first. Existing sales
    keep their terms. Raises PlanNotFound, ValidationError, CourseNotFound."""
    catalog_queries.plan_detail(code=plan_code, include_unlisted=True)  # PlanNotFound
    if min_tier not in Tier.__members__:
        raise ValidationError("最低等级只能是 A、B、C、D", field="min_tier")
    if margin_fen < 0 or max_markup_fen < 0:
        raise ValidationError("金额不能为负", field="margin_fen")
    if max_markup_fen > domain.MARKUP_CEILING_FEN:
        ceiling = domain.MARKUP_CEILING_FEN / 100
        raise ValidationError(f"加价上限不能超过 ¥{ceiling:.2f}", field="max_markup_fen")
    course = None
    if course_code:
        course = Course.objects.filter(code=course_code).first()
        if course is None:
            raise CourseNotFound("课程不存在", course_code=course_code)
    product, _ = Product.objects.update_or_create(
        plan_code=plan_code,
        defaults={
            "enabled": enabled,
            "margin_fen": margin_fen,
            "max_markup_fen": max_markup_fen,
            "min_tier": min_tier,
            "course": course,
        },
    )
    return product


def add_rule(
    *,
    kind: str,
    valid_from: dt.datetime,
    plan_code: str = "*",
    tier: str = "",
    amount_fen: int = 0,
    rate_bp: int = 0,
    threshold_fen: int = 0,
    months: int = 0,
    note: str = "",
) -> CommissionRule:
    """A new staff rule from its terms, checked as :func:`save_rule` checks. Raises
    InvalidRule."""
    rule = CommissionRule(
        plan_code=plan_code,
        tier=tier,
        kind=kind,
        amount_fen=amount_fen,
        rate_bp=rate_bp,
        threshold_fen=threshold_fen,
        months=months,
        valid_from=valid_from,
        note=note,
    )
    return save_rule(rule=rule)


def save_rule(*, rule: CommissionRule) -> CommissionRule:
    """Check a staff rule against the domain's rules before saving it. Raises InvalidRule."""
    domain.check_rule(
        domain.RuleRow(
            plan_code=rule.plan_code,
            tier=rule.tier,
            kind=rule.kind,
            amount_fen=rule.amount_fen,
            rate_bp=rule.rate_bp,
            threshold_fen=rule.threshold_fen,
            months=rule.months,
            valid_from=rule.valid_from,
            valid_to=rule.valid_to,
        )
    )
    rule.save()
    return rule
