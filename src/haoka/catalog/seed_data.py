"""Demo seed data for the catalog: carriers, app classes, benefits, tags, plans and packs.

Pure data, no Django and no I/O: an upsert loader matches every row by ``code`` (rating groups
also carry a unique ``number``). Rows are plain dicts whose keys are the model's field names;
many-to-many and foreign-key fields hold the *codes* of the rows they point to.

Conventions (see DESIGN.md): money in integer fen; per-unit rates as decimal strings with at
most 4 places (``DecimalField(max_digits=10, decimal_places=4)``); data in bytes with binary
units (1G = 1024**3 bytes); voice in seconds; pack windows as "HH:MM" strings.

Rates used below, worked out once:

* ¥5/GB  = 500 fen / 1024 MB = 0.48828... -> "0.4883" fen/MB
* ¥3/GB  = 300 fen / 1024 MB = 0.29296... -> "0.2930" fen/MB
* ¥1/500MB = 100 fen / 500 MB            -> "0.2000" fen/MB
* ¥0.01/MB -> "1.0000"; ¥0.03/MB -> "3.0000" fen/MB
* ¥0.10/min -> "10.0000" fen/min; ¥0.15/min -> "15.0000"; ¥0.10/条 -> "10.0000" fen

Run ``validate()`` after editing: it returns a list of problems, empty when the data is sound.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal, InvalidOperation

from haoka.catalog.domain import PROVINCES, FirstMonth

GB = 1024**3
MB = 1024**2
MIN = 60  # seconds per minute

# The usual 禁发区 of internet cards: the two remote regions, plus fraud-prone cities on some.
_REMOTE = ["新疆", "西藏"]
_REMOTE_AND_FRAUD = ["新疆", "西藏", "广东/揭阳", "广东/汕尾", "广东/茂名", "海南/儋州"]

# ---------------------------------------------------------------------------------------------
# Carriers. HAOKA is the operator's own virtual-operator (转售/MVNO) brand. Chinese MVNOs have no
# MNC of their own: their SIMs carry IMSIs from the host carrier's range. HAOKA rides on China
# Unicom (as most 170/171 resale numbers do), so its mnc is Unicom's "01". An MNC lookup can
# therefore match both CUCC and HAOKA; prefer the non-virtual carrier when resolving.
# ---------------------------------------------------------------------------------------------
CARRIERS = (
    {"code": "CMCC", "name": "中国移动", "short_name": "移动",
     "mnc": ["00", "02", "04", "07", "08", "13"], "is_virtual": False, "color": "#0085D0",
     "sort": 10},
    {"code": "CUCC", "name": "中国联通", "short_name": "联通", "mnc": ["01", "06", "09"],
     "is_virtual": False, "color": "#E60027", "sort": 20},
    {"code": "CTCC", "name": "中国电信", "short_name": "电信", "mnc": ["03", "05", "11"],
     "is_virtual": False, "color": "#005BAC", "sort": 30},
    {"code": "CBN", "name": "中国广电", "short_name": "广电", "mnc": ["15"],
     "is_virtual": False, "color": "#1E4FA0", "sort": 40},
    {"code": "HAOKA", "name": "号卡自有品牌", "short_name": "号卡", "mnc": ["01"],
     "is_virtual": True, "color": "#FF6A00", "sort": 50},
)  # fmt: skip

# 3GPP rating groups: general internet (what SMFs and the demo report general traffic under),
# then app classes for targeted (定向) and zero-rated (免流) traffic.
RATING_GROUPS = (
    {"number": 100, "code": "internet", "name": "通用上网", "general": True},
    {"number": 1001, "code": "wechat", "name": "微信"},
    {"number": 1002, "code": "qq", "name": "QQ"},
    {"number": 1003, "code": "tencent-video", "name": "腾讯视频"},
    {"number": 1004, "code": "honor-of-kings", "name": "王者荣耀（游戏）"},
    {"number": 1005, "code": "qq-music", "name": "QQ音乐"},
    {"number": 1006, "code": "douyin", "name": "抖音"},
    {"number": 1007, "code": "kuaishou", "name": "快手"},
    {"number": 1008, "code": "iqiyi", "name": "爱奇艺"},
    {"number": 1009, "code": "youku", "name": "优酷"},
    {"number": 1010, "code": "bilibili", "name": "哔哩哔哩"},
    {"number": 1011, "code": "mango-tv", "name": "芒果TV"},
    {"number": 1012, "code": "baidu", "name": "百度"},
    {"number": 1013, "code": "alibaba", "name": "支付宝/阿里系"},
    {"number": 1014, "code": "netease-music", "name": "网易云音乐"},
)

# Memberships; value_fen is the single-month retail price (not the auto-renew discount).
BENEFITS = (
    {"code": "tencent-video-vip", "name": "腾讯视频VIP月卡", "value_fen": 3000,
     "description": "腾讯视频VIP会员1个月，手机、电脑、平板可用，不含电视端（云视听极光）。"},
    {"code": "iqiyi-gold", "name": "爱奇艺黄金会员月卡", "value_fen": 3000,
     "description": "爱奇艺黄金VIP会员1个月，手机、电脑、平板可用，不含电视端。"},
    {"code": "youku-vip", "name": "优酷VIP月卡", "value_fen": 3000,
     "description": "优酷VIP会员1个月，手机、电脑、平板可用，不含酷喵电视端。"},
    {"code": "mgtv-vip", "name": "芒果TV会员月卡", "value_fen": 2500,
     "description": "芒果TV PC/移动影视会员1个月，不含全屏（电视端）权益。"},
    {"code": "qqmusic-green", "name": "QQ音乐绿钻月卡", "value_fen": 1500,
     "description": "QQ音乐豪华绿钻1个月：付费音乐畅听、无损音质与会员专属下载。"},
    {"code": "bilibili-vip", "name": "哔哩哔哩大会员月卡", "value_fen": 2500,
     "description": "哔哩哔哩大会员1个月：番剧与影视会员内容、高清画质，不含电视端。"},
)  # fmt: skip

TAGS = (
    {"code": "big-data", "name": "大流量"},
    {"code": "low-fee", "name": "低月租"},
    {"code": "daily", "name": "日租卡"},
    {"code": "video-vip", "name": "视频会员"},
    {"code": "free-app", "name": "定向免流"},
    {"code": "game", "name": "游戏"},
    {"code": "student", "name": "学生"},
    {"code": "senior", "name": "长辈"},
    {"code": "voice", "name": "通话多"},
    {"code": "long-term", "name": "长期套餐"},
    {"code": "no-contract", "name": "无合约"},
    {"code": "vanity", "name": "靓号可选"},
    {"code": "new", "name": "新品"},
)

# ---------------------------------------------------------------------------------------------
# Plans. Every dict carries every Plan field except created_at/updated_at; _plan() fills the
# fields a plan leaves at its usual value so each entry lists only what makes it distinctive.
# ---------------------------------------------------------------------------------------------
_PLAN_DEFAULTS = {
    "slogan": "",
    "status": "ON_SALE",
    "monthly_fee_fen": 0,
    "general_data_bytes": 0,
    "targeted_data_bytes": 0,
    "targeted_groups": [],
    "zero_rated_groups": [],
    "voice_seconds": 0,
    "sms_count": 0,
    "daily_fee_fen": 0,
    "daily_data_bytes": 0,
    "payg_data_fen_per_mb": "0.4883",  # ¥5/GB after the allowance
    "payg_voice_fen_per_minute": "10.0000",  # ¥0.10/min
    "payg_sms_fen": "10.0000",  # ¥0.10/条
    "contract_months": 0,
    "first_topup_fen": 0,
    "first_month": "PRORATED",  # the description must say the same (catalog.domain.FirstMonth)
    "min_age": 16,
    "max_age": 60,
    "sale_regions": [],
    "forbidden_regions": _REMOTE,
    "tags": [],
    "benefits": [],
    "requires_photos": False,
    "description": "",
    "sort": 100,
}

PLAN_FIELDS = frozenset({"code", "carrier", "name", *_PLAN_DEFAULTS})


def _plan(**fields: object) -> dict:
    return copy.deepcopy({**_PLAN_DEFAULTS, **fields})


_TENCENT = ["wechat", "qq", "tencent-video", "honor-of-kings", "qq-music"]
_SHORT_VIDEO = ["douyin", "kuaishou"]
_LONG_VIDEO = ["tencent-video", "iqiyi", "youku", "bilibili"]

_CMCC_PLANS = (
    _plan(
        code="CM-HUAKA-19", carrier="CMCC", name="移动花卡宝藏版19元",
        slogan="19元月租，30G定向流量覆盖百款热门App",
        monthly_fee_fen=1900, general_data_bytes=5 * GB, targeted_data_bytes=30 * GB,
        targeted_groups=[*_SHORT_VIDEO, *_LONG_VIDEO, "baidu", "alibaba", "netease-music"],
        tags=["low-fee", "free-app", "no-contract"],
        description=(
            "月租19元，含5G全国通用流量和30G定向流量，通用流量用完后按5元/GB计费。"
            "定向流量适用于抖音、快手、爱奇艺、优酷、哔哩哔哩、百度、淘宝、支付宝等App内浏览与播放，"
            "不含App内直播打赏、小程序、第三方链接及热点共享。首月月租和流量按激活当日起按天折算。"
        ),
        sort=10,
    ),
    _plan(
        code="CM-MANGO-39", carrier="CMCC", name="移动芒果卡39元",
        slogan="送芒果TV会员，看芒果TV不耗流量",
        monthly_fee_fen=3900, general_data_bytes=40 * GB, zero_rated_groups=["mango-tv"],
        voice_seconds=100 * MIN, tags=["video-vip", "free-app", "no-contract"],
        benefits=["mgtv-vip"],
        description=(
            "月租39元，含40G通用流量、100分钟国内通话，每月赠送芒果TV会员月卡。"
            "芒果TV App内点播免流，不含直播、弹幕互动及投屏。会员在每月1日自动发放，"
            "首月激活后24小时内到账；无合约，套餐长期有效。"
        ),
        sort=20,
    ),
    _plan(
        code="CM-SHANGLV-58", carrier="CMCC", name="移动商旅卡58元",
        slogan="每月1000分钟国内通话，出差不怕打电话",
        monthly_fee_fen=5800, general_data_bytes=30 * GB, voice_seconds=1000 * MIN,
        sms_count=100, payg_voice_fen_per_minute="15.0000", contract_months=24,
        first_topup_fen=10000, min_age=18, forbidden_regions=_REMOTE_AND_FRAUD,
        tags=["voice", "long-term"], requires_photos=True,
        description=(
            "月租58元，含1000分钟国内通话、30G通用流量和100条短信，超出后通话0.15元/分钟。"
            "合约期24个月，办理时首充100元，首充款于激活后分10个月每月返还10元。"
            "首月套餐全量生效，月租按天折算；因实名要求须上传身份证正反面及手持照。"
        ),
        first_month="FEE_PRORATED",
        sort=30,
    ),
    _plan(
        code="CM-MZONE-18", carrier="CMCC", name="动感地带校园卡18元",
        slogan="学生专享：18元30G，B站、网易云音乐定向免流",
        monthly_fee_fen=1800, general_data_bytes=30 * GB, targeted_data_bytes=20 * GB,
        targeted_groups=["bilibili", "netease-music", "qq-music", *_SHORT_VIDEO],
        voice_seconds=100 * MIN, max_age=25,
        sale_regions=["北京", "江苏", "湖北", "四川", "陕西"],
        tags=["student", "low-fee", "free-app"], requires_photos=True,
        description=(
            "限16至25周岁在校学生办理，须上传学生证或录取通知书照片，仅在北京、江苏、湖北、四川、陕西销售。"
            "月租18元，含30G通用流量、20G定向流量（哔哩哔哩、网易云音乐、QQ音乐、抖音、快手）和100分钟通话。"
            "年满26周岁次月自动转为同档位标准套餐。"
        ),
        sort=40,
    ),
    _plan(
        code="CM-XIAOXIN-8", carrier="CMCC", name="移动孝心卡8元",
        slogan="给爸妈的卡：8元月租，通话够用",
        monthly_fee_fen=800, general_data_bytes=1 * GB, voice_seconds=100 * MIN, sms_count=30,
        payg_data_fen_per_mb="0.2930", min_age=55, max_age=100,
        tags=["senior", "low-fee", "voice", "no-contract"],
        description=(
            "限55周岁及以上用户办理。月租8元，含100分钟国内通话、1G通用流量和30条短信，"
            "超出后流量按3元/GB、通话按0.1元/分钟计费。首月免月租，次月起按月收取；无合约，可随时变更套餐。"
        ),
        first_month="FREE",
        sort=50,
    ),
)  # fmt: skip

_CUCC_PLANS = (
    _plan(
        code="CU-DAWANG-19", carrier="CUCC", name="联通大王卡19元版",
        slogan="19元100G：70G通用+30G腾讯系定向",
        monthly_fee_fen=1900, general_data_bytes=70 * GB, targeted_data_bytes=30 * GB,
        targeted_groups=_TENCENT, tags=["big-data", "low-fee", "free-app", "no-contract"],
        description=(
            "月租19元，含70G全国通用流量和30G腾讯系定向流量，通用流量用完后按5元/GB计费。"
            "定向流量适用于微信、QQ、腾讯视频、王者荣耀、QQ音乐，不含视频通话、小程序、公众号外链及热点共享。"
            "首月月租及流量按天折算，次月1日起全量生效；优惠期2年，到期后自动续约原资费。"
        ),
        sort=10,
    ),
    _plan(
        code="CU-DAWANG-29", carrier="CUCC", name="联通大王卡29元版",
        slogan="29元155G：125G通用+30G定向，再送100分钟",
        monthly_fee_fen=2900, general_data_bytes=125 * GB, targeted_data_bytes=30 * GB,
        targeted_groups=_TENCENT, voice_seconds=100 * MIN,
        tags=["big-data", "free-app", "no-contract"],
        forbidden_regions=_REMOTE_AND_FRAUD,
        description=(
            "月租29元，含125G全国通用流量、30G腾讯系定向流量和100分钟国内通话。"
            "定向流量适用于微信、QQ、腾讯视频、王者荣耀、QQ音乐App内使用。"
            "首月按天折算；优惠期2年，到期后自动续约，资费如有调整提前一个月短信通知。"
        ),
        sort=20,
    ),
    _plan(
        code="CU-MAYI-RIZU", carrier="CUCC", name="联通蚂蚁宝卡日租版",
        slogan="0月租，1元1G用一天；支付宝、淘宝免流",
        daily_fee_fen=100, daily_data_bytes=1 * GB, payg_data_fen_per_mb="0.2000",
        zero_rated_groups=["alibaba"], tags=["daily", "low-fee", "free-app", "no-contract"],
        description=(
            "无月租，当日首次使用通用流量时扣1元，得1G当日有效流量（北京时间24点清零），当日不用不扣费。"
            "日租流量用完后按1元/500MB继续计费。支付宝、淘宝、天猫、饿了么等阿里系App内流量免费。"
        ),
        sort=30,
    ),
    _plan(
        code="CU-GAME-24", carrier="CUCC", name="联通腾讯游戏王卡24元",
        slogan="王者荣耀免流量，开黑不心疼",
        monthly_fee_fen=2400, general_data_bytes=20 * GB, targeted_data_bytes=40 * GB,
        targeted_groups=["qq", "wechat", "bilibili", "douyin"],
        zero_rated_groups=["honor-of-kings"], min_age=18,
        tags=["game", "free-app", "no-contract"],
        description=(
            "限18周岁及以上办理。月租24元，王者荣耀游戏内流量免费（不含游戏下载更新及直播），"
            "另含20G通用流量和40G定向流量（QQ、微信、哔哩哔哩、抖音）。首月免月租，流量全量赠送。"
        ),
        first_month="FREE",
        sort=40,
    ),
    _plan(
        code="CU-WOPAI-29", carrier="CUCC", name="联通沃派校园卡29元",
        slogan="校园专属：100G流量+200分钟",
        monthly_fee_fen=2900, general_data_bytes=60 * GB, targeted_data_bytes=40 * GB,
        targeted_groups=["bilibili", "tencent-video", "netease-music", *_SHORT_VIDEO],
        voice_seconds=200 * MIN, max_age=25,
        sale_regions=["广东", "广西", "福建", "海南"],
        forbidden_regions=["广东/揭阳", "广东/汕尾", "海南/儋州"],
        tags=["student", "big-data", "free-app"],
        description=(
            "限16至25周岁学生办理，仅在广东、广西、福建、海南销售（揭阳、汕尾、儋州除外）。"
            "月租29元，含60G通用流量、40G定向流量和200分钟通话；定向流量适用于哔哩哔哩、腾讯视频、"
            "网易云音乐、抖音、快手。首月月租及流量按天折算。"
        ),
        sort=50,
    ),
    _plan(
        code="CU-DAWANG-2017", carrier="CUCC", name="联通大王卡经典版（2017）",
        slogan="腾讯系App免流，1元500M日租",
        status="RETIRED", monthly_fee_fen=1900, zero_rated_groups=_TENCENT,
        daily_fee_fen=100, daily_data_bytes=500 * MB, payg_data_fen_per_mb="0.2000",
        tags=["free-app", "daily"],
        description=(
            "2017年版大王卡，已停止新办理，存量用户可继续使用。月租19元，腾讯系App内流量免费；"
            "全国流量1元500MB当日有效，用完后再按1元/500MB叠加。通话0.1元/分钟。"
        ),
        sort=90,
    ),
)  # fmt: skip

_CTCC_PLANS = (
    _plan(
        code="CT-XINGKA-19", carrier="CTCC", name="电信星卡19元",
        slogan="19元90G：60G通用+30G短视频定向",
        monthly_fee_fen=1900, general_data_bytes=60 * GB, targeted_data_bytes=30 * GB,
        targeted_groups=[*_SHORT_VIDEO, "baidu", "tencent-video"],
        tags=["big-data", "low-fee", "free-app", "no-contract"],
        description=(
            "月租19元，含60G全国通用流量和30G定向流量（抖音、快手、百度、腾讯视频），通话0.1元/分钟。"
            "首月月租按天折算，流量首月全量。优惠期至次年12月31日，到期后自动续约。"
        ),
        first_month="FEE_PRORATED",
        sort=10,
    ),
    _plan(
        code="CT-XINGKA-39", carrier="CTCC", name="电信星卡会员版39元",
        slogan="每月送爱奇艺黄金会员，追剧流量管够",
        monthly_fee_fen=3900, general_data_bytes=100 * GB, targeted_data_bytes=30 * GB,
        targeted_groups=["iqiyi", "youku", "tencent-video"], voice_seconds=100 * MIN,
        tags=["video-vip", "big-data", "free-app", "no-contract"], benefits=["iqiyi-gold"],
        description=(
            "月租39元，含100G通用流量、30G视频定向流量（爱奇艺、优酷、腾讯视频）和100分钟通话，"
            "每月1日发放爱奇艺黄金会员月卡。首月月租和流量按天折算，会员首月全额发放。"
        ),
        sort=20,
    ),
    _plan(
        code="CT-WUYOU-0", carrier="CTCC", name="电信无忧卡（0月租）",
        slogan="不用不花钱：0月租按量计费",
        payg_data_fen_per_mb="3.0000", first_topup_fen=2000,
        tags=["low-fee", "no-contract"],
        description=(
            "无月租，流量0.03元/MB，通话0.1元/分钟，短信0.1元/条，按实际使用计费。"
            "办理时首充20元，充入话费余额。适合备用机、保号或流量用得很少的用户。"
        ),
        sort=30,
    ),
    _plan(
        code="CT-CHANGXIANG-59", carrier="CTCC", name="电信5G畅享卡59元",
        slogan="5G网络，80G流量+500分钟",
        monthly_fee_fen=5900, general_data_bytes=80 * GB, voice_seconds=500 * MIN,
        sms_count=50, contract_months=12, first_topup_fen=5000, min_age=18,
        tags=["long-term", "big-data", "voice"],
        description=(
            "月租59元，含80G通用流量、500分钟国内通话和50条短信。合约期12个月，"
            "办理时首充50元可抵扣月租。首月套餐全量生效，月租按天折算；合约期满自动续约原资费。"
        ),
        first_month="FEE_PRORATED",
        sort=40,
    ),
)  # fmt: skip

_CBN_PLANS = (
    _plan(
        code="CBN-HUIMIN-8", carrier="CBN", name="广电惠民卡8元",
        slogan="192号段，8元月租保号神卡",
        monthly_fee_fen=800, general_data_bytes=5 * GB, voice_seconds=100 * MIN,
        payg_data_fen_per_mb="0.2930", tags=["low-fee", "no-contract"],
        description=(
            "月租8元，含5G通用流量和100分钟国内通话，超出后流量按3元/GB、通话按0.1元/分钟计费。"
            "使用广电与移动共建共享的700M 5G网络。首月免月租。"
        ),
        first_month="FREE",
        sort=10,
    ),
    _plan(
        code="CBN-FUTU-29", carrier="CBN", name="广电福兔卡29元",
        slogan="29元100G通用流量，不限App",
        monthly_fee_fen=2900, general_data_bytes=100 * GB, voice_seconds=100 * MIN,
        tags=["big-data", "low-fee", "no-contract"],
        description=(
            "月租29元，含100G全国通用流量和100分钟通话，流量不区分App。"
            "首月月租及流量按天折算；优惠期2年，到期后按原资费自动续约。"
        ),
        sort=20,
    ),
    _plan(
        code="CBN-CHANGYOU-59", carrier="CBN", name="广电5G畅游卡59元",
        slogan="120G大流量+500分钟，合约一年",
        monthly_fee_fen=5900, general_data_bytes=120 * GB, voice_seconds=500 * MIN,
        sms_count=100, contract_months=12, first_topup_fen=5000,
        tags=["big-data", "voice", "long-term"],
        description=(
            "月租59元，含120G通用流量、500分钟通话和100条短信。合约期12个月，首充50元。"
            "合约期内不可降档或销户，期满自动续约，可在到期前30天申请变更。"
        ),
        sort=30,
    ),
    _plan(
        code="CBN-LIANGHAO-39", carrier="CBN", name="广电192靓号卡39元",
        slogan="192靓号任选：AAA、ABCD尾号",
        monthly_fee_fen=3900, general_data_bytes=60 * GB, voice_seconds=300 * MIN,
        contract_months=24, first_topup_fen=20000, min_age=18,
        sale_regions=["广东", "浙江", "江苏"], forbidden_regions=["广东/揭阳", "广东/汕尾"],
        tags=["vanity", "long-term"], requires_photos=True,
        description=(
            "可选192号段靓号，仅在广东、浙江、江苏销售。月租39元，含60G通用流量和300分钟通话。"
            "合约期24个月，靓号须首充200元（分24个月返还）并上传身份证正反面及手持照。"
        ),
        sort=40,
    ),
)  # fmt: skip

_HAOKA_PLANS = (
    _plan(
        code="HK-FREE-0", carrier="HAOKA", name="号卡自由卡（0月租）",
        slogan="0月租，流量通话按需搭配",
        payg_data_fen_per_mb="1.0000", tags=["low-fee", "no-contract"],
        description=(
            "无月租，流量0.01元/MB，通话0.1元/分钟，短信0.1元/条。可在App内随时叠加流量包、"
            "语音包、夜间包，像搭积木一样组合自己的套餐。承载于中国联通网络。"
        ),
        sort=10,
    ),
    _plan(
        code="HK-RIZU-2", carrier="HAOKA", name="号卡日租卡2元版",
        slogan="用一天付一天：2元3G",
        daily_fee_fen=200, daily_data_bytes=3 * GB, payg_data_fen_per_mb="0.2000",
        tags=["daily", "low-fee", "no-contract"],
        description=(
            "无月租，当日首次使用流量时扣2元，得3G当日有效流量，北京时间24点清零；"
            "当日用完后按1元/500MB计费，不用不扣费。通话0.1元/分钟。"
        ),
        sort=20,
    ),
    _plan(
        code="HK-SHITING-49", carrier="HAOKA", name="号卡视听会员卡49元",
        slogan="腾讯视频VIP+QQ音乐绿钻，每月双会员",
        monthly_fee_fen=4900, general_data_bytes=80 * GB, targeted_data_bytes=40 * GB,
        targeted_groups=["tencent-video", "qq-music", "bilibili", "iqiyi"],
        voice_seconds=200 * MIN, tags=["video-vip", "big-data", "free-app", "no-contract"],
        benefits=["tencent-video-vip", "qqmusic-green"],
        description=(
            "月租49元，含80G通用流量、40G影音定向流量（腾讯视频、QQ音乐、哔哩哔哩、爱奇艺）和200分钟通话，"
            "每月赠腾讯视频VIP月卡和QQ音乐绿钻月卡。首月月租按天折算，会员首月全额发放。"
        ),
        first_month="FEE_PRORATED",
        sort=30,
    ),
    _plan(
        code="HK-DIANJING-29", carrier="HAOKA", name="号卡电竞卡29元",
        slogan="王者荣耀免流，低延迟专属通道",
        monthly_fee_fen=2900, general_data_bytes=50 * GB, targeted_data_bytes=40 * GB,
        targeted_groups=["bilibili", "douyin", "qq"], zero_rated_groups=["honor-of-kings"],
        min_age=18, tags=["game", "free-app", "big-data", "no-contract"],
        description=(
            "限18周岁及以上办理。月租29元，王者荣耀对局流量免费，另含50G通用流量和40G定向流量"
            "（哔哩哔哩、抖音、QQ）。首月免月租，次月起全量收费。"
        ),
        first_month="FREE",
        sort=40,
    ),
    _plan(
        code="HK-XINREN-19", carrier="HAOKA", name="号卡新人卡19元",
        slogan="新品内测：19元100G",
        status="DRAFT", monthly_fee_fen=1900, general_data_bytes=80 * GB,
        targeted_data_bytes=20 * GB, targeted_groups=[*_SHORT_VIDEO, "wechat"],
        tags=["new", "big-data", "low-fee"],
        description=(
            "新品草稿，尚未上架。月租19元，含80G通用流量和20G定向流量（抖音、快手、微信）。"
            "首月免月租。"
        ),
        first_month="FREE",
        sort=50,
    ),
)  # fmt: skip

PLANS = _CMCC_PLANS + _CUCC_PLANS + _CTCC_PLANS + _CBN_PLANS + _HAOKA_PLANS

# ---------------------------------------------------------------------------------------------
# Add-on packs. validity_days: 0 = until the end of the calendar month, 1 = today only.
# ---------------------------------------------------------------------------------------------
_PACK_DEFAULTS = {
    "carriers": [],
    "status": "ON_SALE",
    "data_bytes": 0,
    "voice_seconds": 0,
    "validity_days": 0,
    "window_start": None,
    "window_end": None,
    "rating_groups": [],
    "benefit": None,
    "sort": 100,
}

PACK_FIELDS = frozenset({"code", "name", "kind", "price_fen", *_PACK_DEFAULTS})


def _pack(**fields: object) -> dict:
    return copy.deepcopy({**_PACK_DEFAULTS, **fields})


PACKS = (
    _pack(code="PK-DATA-1G-1D", name="3元1G日包", kind="DATA", price_fen=300,
          data_bytes=1 * GB, validity_days=1, sort=10),
    _pack(code="PK-DATA-10G-7D", name="15元10G七天包", kind="DATA", price_fen=1500,
          data_bytes=10 * GB, validity_days=7, sort=20),
    _pack(code="PK-DATA-5G-M", name="10元5G月包", kind="DATA", price_fen=1000,
          data_bytes=5 * GB, sort=30),
    _pack(code="PK-DATA-30G-30D", name="30元30G三十天包", kind="DATA", price_fen=3000,
          data_bytes=30 * GB, validity_days=30, sort=40),
    _pack(code="PK-DATA-100G-M", name="50元100G当月包", kind="DATA", carriers=["CUCC", "HAOKA"],
          price_fen=5000, data_bytes=100 * GB, sort=50),
    _pack(code="PK-VOICE-100-M", name="10元100分钟语音包", kind="VOICE", price_fen=1000,
          voice_seconds=100 * MIN, sort=60),
    _pack(code="PK-VOICE-500-30D", name="30元500分钟语音包", kind="VOICE",
          carriers=["CMCC", "CTCC", "CBN"], price_fen=3000, voice_seconds=500 * MIN,
          validity_days=30, sort=70),
    _pack(code="PK-NIGHT-10G-M", name="5元夜间10G包", kind="NIGHT", price_fen=500,
          data_bytes=10 * GB, window_start="23:00", window_end="07:00", sort=80),
    _pack(code="PK-NIGHT-30G-30D", name="9元凌晨30G包", kind="NIGHT", carriers=["HAOKA"],
          price_fen=900, data_bytes=30 * GB, validity_days=30, window_start="00:00",
          window_end="08:00", sort=90),
    _pack(code="PK-TGT-TENCENT-M", name="9元腾讯系定向20G", kind="TARGETED", price_fen=900,
          data_bytes=20 * GB, rating_groups=_TENCENT, sort=100),
    _pack(code="PK-TGT-SHORTVIDEO-30D", name="15元抖音快手定向30G", kind="TARGETED",
          price_fen=1500, data_bytes=30 * GB, validity_days=30, rating_groups=_SHORT_VIDEO,
          sort=110),
    _pack(code="PK-MEM-TXV-30D", name="20元腾讯视频VIP+20G定向", kind="MEMBERSHIP",
          price_fen=2000, data_bytes=20 * GB, validity_days=30, rating_groups=["tencent-video"],
          benefit="tencent-video-vip", sort=120),
    _pack(code="PK-MEM-IQIYI-30D", name="20元爱奇艺黄金会员+20G定向", kind="MEMBERSHIP",
          price_fen=2000, data_bytes=20 * GB, validity_days=30, rating_groups=["iqiyi"],
          benefit="iqiyi-gold", sort=130),
    _pack(code="PK-MEM-BILI-30D", name="19元哔哩哔哩大会员+15G定向", kind="MEMBERSHIP",
          carriers=["HAOKA", "CUCC"], price_fen=1900, data_bytes=15 * GB, validity_days=30,
          rating_groups=["bilibili"], benefit="bilibili-vip", sort=140),
    _pack(code="PK-TGT-GAME-M", name="6元王者荣耀定向10G", kind="TARGETED", status="DRAFT",
          price_fen=600, data_bytes=10 * GB, rating_groups=["honor-of-kings"], sort=150),
    _pack(code="PK-DATA-2G-1D-OLD", name="5元2G日包（旧）", kind="DATA", status="RETIRED",
          price_fen=500, data_bytes=2 * GB, validity_days=1, sort=160),
)  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Self-check
# ---------------------------------------------------------------------------------------------
STATUSES = frozenset({"DRAFT", "ON_SALE", "RETIRED"})
PACK_KINDS = frozenset({"DATA", "VOICE", "NIGHT", "TARGETED", "MEMBERSHIP"})
_UPPER_CODE = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_SMALL = 32767  # PositiveSmallIntegerField upper bound


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unique(rows: tuple[dict, ...], key: str, table: str) -> list[str]:
    seen: set[object] = set()
    problems = []
    for row in rows:
        if row.get(key) in seen:
            problems.append(f"{table}: duplicate {key} {row.get(key)!r}")
        seen.add(row.get(key))
    return problems


def _lengths(row: dict, where: str, limits: dict[str, int]) -> list[str]:
    return [
        f"{where}: {field} longer than {limit}"
        for field, limit in limits.items()
        if not isinstance(row[field], str) or len(row[field]) > limit
    ]


def _refs(where: str, field: str, values: list, known: set[str]) -> list[str]:
    problems = [f"{where}: {field} -> unknown {v!r}" for v in values if v not in known]
    if len(set(values)) != len(values):
        problems.append(f"{where}: {field} has duplicates")
    return problems


def _rate(where: str, field: str, value: object) -> list[str]:
    if not isinstance(value, str):
        return [f"{where}: {field} must be a decimal string"]
    try:
        d = Decimal(value)
    except InvalidOperation:
        return [f"{where}: {field} {value!r} is not a decimal"]
    exponent = d.as_tuple().exponent
    if not d.is_finite() or d < 0 or d >= 10**6 or not isinstance(exponent, int) or exponent < -4:
        return [f"{where}: {field} {value!r} must be 0 <= x < 1e6 with at most 4 decimals"]
    return []


def _regions(where: str, plan: dict) -> list[str]:
    problems = []
    sale, forbidden = plan["sale_regions"], plan["forbidden_regions"]
    for province in sale:
        if province not in PROVINCES:
            problems.append(f"{where}: sale region {province!r} is not a province")
    for entry in forbidden:
        province, _, city = entry.partition("/")
        if province not in PROVINCES or (
            "/" in entry and (not city or city.endswith("市") or "/" in city)
        ):
            problems.append(f"{where}: forbidden region {entry!r} is not '省' or '省/市'")
        elif not city and province in sale:
            problems.append(f"{where}: {province} both sold to and forbidden")
    for field in ("sale_regions", "forbidden_regions"):
        if len(set(plan[field])) != len(plan[field]):
            problems.append(f"{where}: {field} has duplicates")
    return problems


def _check_carriers() -> list[str]:
    problems = _unique(CARRIERS, "code", "carrier")
    for c in CARRIERS:
        where = f"carrier {c['code']}"
        problems += _lengths(c, where, {"code": 16, "name": 40, "short_name": 10})
        if not _UPPER_CODE.match(c["code"]) or not _COLOR.match(c["color"]):
            problems.append(f"{where}: bad code or color")
        if not c["mnc"] or not all(
            isinstance(m, str) and re.fullmatch(r"\d{2}", m) for m in c["mnc"]
        ):
            problems.append(f"{where}: mnc must be a non-empty list of 2-digit strings")
        if not isinstance(c["is_virtual"], bool) or not _is_int(c["sort"]) or c["sort"] < 0:
            problems.append(f"{where}: bad is_virtual or sort")
    if not any(c["is_virtual"] for c in CARRIERS):
        problems.append("carrier: no virtual-operator brand")
    return problems


def _check_small_tables() -> list[str]:
    problems = _unique(RATING_GROUPS, "code", "rating group")
    problems += _unique(RATING_GROUPS, "number", "rating group")
    problems += _unique(BENEFITS, "code", "benefit") + _unique(TAGS, "code", "tag")
    for table, rows, limits in (
        ("rating group", RATING_GROUPS, {"code": 40, "name": 40}),
        ("benefit", BENEFITS, {"code": 40, "name": 60, "description": 200}),
        ("tag", TAGS, {"code": 40, "name": 40}),
    ):
        for row in rows:
            where = f"{table} {row['code']}"
            problems += _lengths(row, where, limits)
            if not _SLUG.match(row["code"]):
                problems.append(f"{where}: code is not an ascii slug")
    for rg in RATING_GROUPS:
        if not _is_int(rg["number"]) or rg["number"] <= 0:
            problems.append(f"rating group {rg['code']}: number must be a positive int")
    for b in BENEFITS:
        if not _is_int(b["value_fen"]) or b["value_fen"] < 0:
            problems.append(f"benefit {b['code']}: value_fen must be a non-negative int")
    return problems


_PLAN_AMOUNTS = (
    "monthly_fee_fen", "general_data_bytes", "targeted_data_bytes", "voice_seconds",
    "sms_count", "daily_fee_fen", "daily_data_bytes", "first_topup_fen", "sort",
)  # fmt: skip


def _check_plan_values(where: str, p: dict) -> list[str]:
    problems = _lengths(p, where, {"code": 40, "name": 60, "slogan": 120})
    if not _UPPER_CODE.match(p["code"]) or p["status"] not in STATUSES:
        problems.append(f"{where}: bad code or status")
    problems += [
        f"{where}: {f} must be an int >= 0" for f in _PLAN_AMOUNTS if not _is_int(p[f]) or p[f] < 0
    ]
    small = ("contract_months", "min_age", "max_age")
    problems += [
        f"{where}: {f} must be an int in 0..{_SMALL}"
        for f in small
        if not _is_int(p[f]) or not 0 <= p[f] <= _SMALL
    ]
    if not problems and p["min_age"] > p["max_age"]:
        problems.append(f"{where}: min_age > max_age")
    for f in ("payg_data_fen_per_mb", "payg_voice_fen_per_minute", "payg_sms_fen"):
        problems += _rate(where, f, p[f])
    if not isinstance(p["requires_photos"], bool) or not p["description"]:
        problems.append(f"{where}: requires_photos must be bool and description non-empty")
    return problems


def _check_plan_consistency(where: str, p: dict) -> list[str]:
    problems = []
    if bool(p["targeted_data_bytes"]) != bool(p["targeted_groups"]):
        problems.append(f"{where}: targeted_data_bytes and targeted_groups must go together")
    if bool(p["daily_fee_fen"]) != bool(p["daily_data_bytes"]):
        problems.append(f"{where}: daily_fee_fen and daily_data_bytes must go together")
    if set(p["targeted_groups"]) & set(p["zero_rated_groups"]):
        problems.append(f"{where}: a group is both targeted and zero-rated")
    if ("daily" in p["tags"]) != bool(p["daily_fee_fen"]):
        problems.append(f"{where}: tag 'daily' must match a daily fee")
    if ("video-vip" in p["tags"]) != bool(p["benefits"]):
        problems.append(f"{where}: tag 'video-vip' must match bundled benefits")
    if p["contract_months"] and "no-contract" in p["tags"]:
        problems.append(f"{where}: tag 'no-contract' contradicts contract_months")
    if p["first_month"] not in set(FirstMonth):
        problems.append(f"{where}: unknown first_month {p['first_month']!r}")
    return problems


def _app_groups() -> set[str]:
    """Rating groups a plan or pack may target or zero-rate: apps, not general traffic."""
    return {g["code"] for g in RATING_GROUPS if not g.get("general")}


def _check_plans() -> list[str]:
    problems = _unique(PLANS, "code", "plan")
    carriers = {c["code"] for c in CARRIERS}
    groups = _app_groups()
    tags = {t["code"] for t in TAGS}
    benefits = {b["code"] for b in BENEFITS}
    for p in PLANS:
        where = f"plan {p.get('code')}"
        if set(p) != PLAN_FIELDS:
            problems.append(f"{where}: fields differ from Plan: {sorted(set(p) ^ PLAN_FIELDS)}")
            continue
        if p["carrier"] not in carriers:
            problems.append(f"{where}: unknown carrier {p['carrier']!r}")
        problems += _refs(where, "targeted_groups", p["targeted_groups"], groups)
        problems += _refs(where, "zero_rated_groups", p["zero_rated_groups"], groups)
        problems += _refs(where, "tags", p["tags"], tags)
        problems += _refs(where, "benefits", p["benefits"], benefits)
        problems += _check_plan_values(where, p) + _regions(where, p)
        problems += _check_plan_consistency(where, p)
    return problems


def _check_pack_kind(where: str, k: dict) -> list[str]:
    kind = k["kind"]
    if kind not in PACK_KINDS:
        return [f"{where}: unknown kind {kind!r}"]
    problems = []
    if (k["window_start"] is None) != (k["window_end"] is None):
        problems.append(f"{where}: window_start and window_end must be both set or both None")
    for f in ("window_start", "window_end"):
        if k[f] is not None and (not isinstance(k[f], str) or not _HHMM.match(k[f])):
            problems.append(f"{where}: {f} must be 'HH:MM'")
    if (kind == "NIGHT") != (k["window_start"] is not None):
        problems.append(f"{where}: only and every NIGHT pack has a time window")
    if (kind == "MEMBERSHIP") != (k["benefit"] is not None):
        problems.append(f"{where}: only and every MEMBERSHIP pack has a benefit")
    if (kind in ("TARGETED", "MEMBERSHIP")) != bool(k["rating_groups"]):
        problems.append(f"{where}: rating_groups only and always on TARGETED/MEMBERSHIP")
    if kind == "VOICE" and (not k["voice_seconds"] or k["data_bytes"]):
        problems.append(f"{where}: a VOICE pack carries voice and no data")
    if kind != "VOICE" and (not k["data_bytes"] or k["voice_seconds"]):
        problems.append(f"{where}: a {kind} pack carries data and no voice")
    return problems


def _check_packs() -> list[str]:
    problems = _unique(PACKS, "code", "pack")
    carriers = {c["code"] for c in CARRIERS}
    groups = _app_groups()
    benefits = {b["code"] for b in BENEFITS}
    for k in PACKS:
        where = f"pack {k.get('code')}"
        if set(k) != PACK_FIELDS:
            problems.append(f"{where}: fields differ from Pack: {sorted(set(k) ^ PACK_FIELDS)}")
            continue
        problems += _lengths(k, where, {"code": 40, "name": 60})
        if not _UPPER_CODE.match(k["code"]) or k["status"] not in STATUSES:
            problems.append(f"{where}: bad code or status")
        problems += _refs(where, "carriers", k["carriers"], carriers)
        problems += _refs(where, "rating_groups", k["rating_groups"], groups)
        if k["benefit"] is not None and k["benefit"] not in benefits:
            problems.append(f"{where}: unknown benefit {k['benefit']!r}")
        for f in ("price_fen", "data_bytes", "voice_seconds", "sort"):
            if not _is_int(k[f]) or k[f] < 0:
                problems.append(f"{where}: {f} must be an int >= 0")
        if not _is_int(k["validity_days"]) or not 0 <= k["validity_days"] <= _SMALL:
            problems.append(f"{where}: validity_days must be an int in 0..{_SMALL}")
        problems += _check_pack_kind(where, k)
    return problems


def validate() -> list[str]:
    """Check the seed data; return human-readable problems (empty when all is well)."""
    return _check_carriers() + _check_small_tables() + _check_plans() + _check_packs()
