"""Every message haoka sends a person, in one place: per kind its title, body, page link and
(where a person expects one) the SMS text. Pure: no DB, no clock.

Values are given by name. A value named ``*_fen`` is money: the templates see it formatted
as ¥ without the suffix (``amount_fen=1990`` fills ``{amount}`` with ``¥19.90``).

SMS goes out where the person is waiting for news that happens away from the app: the
outcome of an agent's or a sponsor's application or of a staff real-name review, a card
shipped, a number activated, a withdrawal paid, data gifted to their number. A card delivered
is in-app only (the courier texts on delivery itself), and so is a top-up credited (the person
just paid in the app and the payment channel sends its own receipt; an SMS for each top-up
would be noise and cost).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from haoka.core.money import format_fen

#: What every SMS starts with (the signature carriers require of a sender).
SMS_SIGNATURE = "【号卡】"


class Kind(StrEnum):
    AGENT_APPROVED = "AGENT_APPROVED"
    AGENT_REJECTED = "AGENT_REJECTED"
    KYC_APPROVED = "KYC_APPROVED"
    KYC_REJECTED = "KYC_REJECTED"
    ORDER_SHIPPED = "ORDER_SHIPPED"
    ORDER_DELIVERED = "ORDER_DELIVERED"
    ORDER_ACTIVATED = "ORDER_ACTIVATED"
    WITHDRAWAL_PAID = "WITHDRAWAL_PAID"
    TOPUP_CREDITED = "TOPUP_CREDITED"
    DATA_GIFT_SENT = "DATA_GIFT_SENT"
    DATA_GIFT_RECEIVED = "DATA_GIFT_RECEIVED"
    FAMILY_JOINED = "FAMILY_JOINED"
    FAMILY_ENDED = "FAMILY_ENDED"
    SPONSOR_APPROVED = "SPONSOR_APPROVED"
    SPONSOR_REJECTED = "SPONSOR_REJECTED"
    SPONSOR_LOW_BALANCE = "SPONSOR_LOW_BALANCE"
    SPONSOR_DATA_GRANTED = "SPONSOR_DATA_GRANTED"
    SPONSOR_POOL_INVITED = "SPONSOR_POOL_INVITED"


@dataclass(frozen=True)
class Template:
    label: str  # the kind as staff read it
    title: str
    body: str
    link: str  # a page path, with values ("/orders/{order_ref}/")
    sms: str | None = None  # None: in-app only


TEMPLATES: dict[Kind, Template] = {
    Kind.AGENT_APPROVED: Template(
        label="代理审核通过",
        title="代理申请已通过",
        body=(
            "恭喜！您的代理申请已审核通过，代理编号 {agent_code}。"
            "现在就可以分享店铺、推广号卡、赚取佣金了。"
        ),
        link="/agent/",
        sms="您的代理申请已审核通过，代理编号 {agent_code}，登录号卡进入代理中心即可开始推广。",
    ),
    Kind.AGENT_REJECTED: Template(
        label="代理审核未通过",
        title="代理申请未通过",
        body="很抱歉，您的代理申请未通过审核。说明：{note}",
        link="/agent/application",
        sms="很抱歉，您的代理申请未通过审核，详情请登录号卡查看。",
    ),
    Kind.KYC_APPROVED: Template(
        label="实名审核通过",
        title="实名审核已通过",
        body="订单 {order_ref} 的实名信息已审核通过，请尽快签署入网协议并完成支付。",
        link="/orders/{order_ref}/",
        sms="订单 {order_ref} 实名审核已通过，请登录号卡签署入网协议并完成支付。",
    ),
    # The reason is not told: a staff rejection often rests on fraud signals (blacklists,
    # velocity) that must not be taught to whoever is trying them.
    Kind.KYC_REJECTED: Template(
        label="实名审核未通过",
        title="实名审核未通过",
        body=(
            "很抱歉，订单 {order_ref} 的实名信息未通过人工审核，订单已关闭，预占的号码已释放。"
            "如有疑问请联系客服。"
        ),
        link="/orders/{order_ref}/",
        sms="很抱歉，订单 {order_ref} 实名审核未通过，订单已关闭。如有疑问请联系客服。",
    ),
    Kind.ORDER_SHIPPED: Template(
        label="已发货",
        title="号卡已发货",
        body=(
            "订单 {order_ref} 的号卡（{msisdn}）已由{courier}发出，运单号 {tracking_no}，"
            "请留意查收。"
        ),
        link="/orders/{order_ref}/",
        sms="您的号卡 {msisdn} 已发货，{courier} 运单号 {tracking_no}，请留意查收。",
    ),
    Kind.ORDER_DELIVERED: Template(
        label="已签收",
        title="号卡已签收",
        body="订单 {order_ref} 的号卡（{msisdn}）已签收。插卡后在订单页完成激活即可使用。",
        link="/orders/{order_ref}/",
    ),
    Kind.ORDER_ACTIVATED: Template(
        label="已激活",
        title="号卡已激活",
        body="您的号码 {msisdn} 已激活，可以正常使用了。余额、流量和账单在「我的号卡」查看。",
        link="/lines/{msisdn}",
        sms="您的号码 {msisdn} 已激活，可以正常使用了。",
    ),
    Kind.WITHDRAWAL_PAID: Template(
        label="提现到账",
        title="提现已到账",
        body="提现 {withdrawal_ref} 已打款 {net}（申请 {amount}，手续费 {fee}），请查收。",
        link="/agent/withdrawals",
        sms="您的佣金提现 {net} 已打款，提现单号 {withdrawal_ref}，请查收。",
    ),
    Kind.TOPUP_CREDITED: Template(
        label="充值到账",
        title="充值到账",
        body="号码 {msisdn} 充值 {amount} 已到账。",
        link="/lines/{msisdn}",
    ),
    # The giver confirmed with a code in hand: the app says it; the receiver hears by SMS
    # (data arrived on a number that did nothing to get it).
    Kind.DATA_GIFT_SENT: Template(
        label="流量转赠成功",
        title="流量转赠成功",
        body="号码 {msisdn} 已将 {data} 流量转赠给 {counterpart}，受赠流量当月有效。",
        link="/lines/{msisdn}",
    ),
    Kind.DATA_GIFT_RECEIVED: Template(
        label="收到流量转赠",
        title="收到流量转赠",
        body="{counterpart} 向您的号码 {msisdn} 转赠了 {data} 流量，本月底前有效。",
        link="/lines/{msisdn}",
        sms="{counterpart} 向您的号码 {msisdn} 转赠了 {data} 流量，本月底前有效。",
    ),
    # 家庭共享: both owners read it in the app (the member consented with a code in hand).
    Kind.FAMILY_JOINED: Template(
        label="加入家庭共享",
        title="家庭共享已生效",
        body="号码 {msisdn} 与 {counterpart} 的家庭共享已生效，副卡每月最多共享 {cap}。",
        link="/lines/{msisdn}",
    ),
    Kind.FAMILY_ENDED: Template(
        label="家庭共享结束",
        title="家庭共享已结束",
        body="号码 {msisdn} 与 {counterpart} 的家庭共享已结束（{reason}）。",
        link="/lines/{msisdn}",
    ),
    Kind.SPONSOR_APPROVED: Template(
        label="后向客户审核通过",
        title="后向客户申请已通过",
        body=(
            "{company_name} 的后向流量申请已审核通过，客户编号 {sponsor_id}。"
            "充值后即可创建定向免流等赞助活动。"
        ),
        link="/sponsor/",
        sms="您的后向流量申请已审核通过，客户编号 {sponsor_id}，登录号卡进入后向客户中心即可开始。",
    ),
    Kind.SPONSOR_REJECTED: Template(
        label="后向客户审核未通过",
        title="后向客户申请未通过",
        body="很抱歉，{company_name} 的后向流量申请未通过审核。说明：{reason}",
        link="/sponsor/",
        sms="很抱歉，您的后向流量申请未通过审核，详情请登录号卡查看。",
    ),
    # In-app only: the console shows the gauge; an SMS for every crossing would be noise.
    Kind.SPONSOR_LOW_BALANCE: Template(
        label="后向客户余额不足",
        title="赞助账户余额不足",
        body=(
            "{company_name}（{sponsor_id}）的赞助账户余额为 {balance}，已低于提醒阈值 "
            "{threshold}，请及时充值，以免活动预算无法追加。"
        ),
        link="/sponsor/",
    ),
    Kind.SPONSOR_DATA_GRANTED: Template(
        label="收到流量红包",
        title="收到流量红包",
        body="{company_name} 向您的号码 {msisdn} 赠送了 {megabytes} MB {scope}，{valid_to} 前有效，"
        "由 {company_name} 赞助，不占用您的套餐流量。",
        link="/lines/{msisdn}",
        sms="{company_name} 向您的号码 {msisdn} 赠送了 {megabytes} MB {scope}，{valid_to} 前有效。",
    ),
    Kind.SPONSOR_POOL_INVITED: Template(
        label="企业流量池邀请",
        title="企业流量池邀请",
        body="{company_name} 邀请您的号码 {msisdn} 加入企业流量池“{campaign_name}”。"
        "验证码已发送到该号码，确认后企业将为您支付通用流量，您可以随时退出。",
        link="/lines/{msisdn}",
    ),
}

#: The kinds as staff read them (admin lists and filters).
LABELS = {kind.value: template.label for kind, template in TEMPLATES.items()}


class MissingValue(KeyError):
    """A template names a value the caller did not give (a programming error)."""


@dataclass(frozen=True)
class Message:
    kind: Kind
    title: str
    body: str
    link: str
    sms: str | None  # the whole SMS text, signature included; None: in-app only


def fields(template: Template) -> set[str]:
    """The value names a template uses (title, body, link and SMS)."""
    parts = (template.title, template.body, template.link, template.sms or "")
    return {name for part in parts for _, name, _, _ in string.Formatter().parse(part) if name}


def render(kind: Kind | str, values: Mapping[str, object]) -> Message:
    """The message of ``kind`` with ``values`` filled in. Raises MissingValue, ValueError
    (an unknown kind)."""
    template = TEMPLATES[Kind(kind)]
    shown = {
        (name[:-4] if name.endswith("_fen") else name): (
            format_fen(int(value)) if name.endswith("_fen") else str(value)
        )
        for name, value in values.items()
    }
    try:
        return Message(
            kind=Kind(kind),
            title=template.title.format_map(shown),
            body=template.body.format_map(shown),
            link=template.link.format_map(shown),
            sms=SMS_SIGNATURE + template.sms.format_map(shown) if template.sms else None,
        )
    except KeyError as exc:
        raise MissingValue(f"{kind} needs {exc.args[0]!r}") from None
