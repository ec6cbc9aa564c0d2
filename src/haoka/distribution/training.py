"""Training: published courses with a quiz. Passing a course unlocks the products staff tied
to it (``Product.course``) and, for a course that ``unlocks_vanity``, vanity numbers in the
agent's shop; :func:`haoka.distribution.operations.may_sell` and ``may_sell_vanity`` read
the passed attempts. Also the seed of materials and courses for a fresh deployment."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from haoka.core.errors import HaokaError, ValidationError
from haoka.distribution import domain
from haoka.distribution.domain import AgentStatus
from haoka.distribution.models import Agent, Course, Material, Question, QuizAttempt
from haoka.distribution.operations import AgentNotActive, CourseNotFound

#: Attempts an agent may make at one course per Beijing day.
MAX_ATTEMPTS_PER_DAY = 5


class QuizAnswersInvalid(ValidationError):
    code = "quiz_answers_invalid"
    message = "答案无效：每道题须选择一个选项"


class QuizAttemptsExceeded(HaokaError):
    code = "quiz_attempts_exceeded"
    status = 429
    message = f"今天该课程的考试次数已用完（每天最多 {MAX_ATTEMPTS_PER_DAY} 次），请明天再试"


def _published(course_code: str) -> Course:
    course = Course.objects.filter(code=(course_code or "").strip(), published=True).first()
    if course is None:
        raise CourseNotFound(course_code=course_code)
    return course


def _questions(course: Course) -> list[Question]:
    return list(Question.objects.filter(course=course).order_by("sort", "id"))


def course_view(*, course_code: str) -> dict:
    """A published course to study and take: title, content and the questions with their
    options, never the answers. Raises CourseNotFound."""
    course = _published(course_code)
    return {
        "code": course.code,
        "title": course.title,
        "summary": course.summary,
        "content": course.content,
        "pass_percent": course.pass_percent,
        "unlocks_vanity": course.unlocks_vanity,
        "questions": [
            {"id": q.pk, "text": q.text, "options": list(q.options)} for q in _questions(course)
        ],
    }


def _check_answers(answers: object, questions: list[Question]) -> list[int]:
    if not isinstance(answers, list | tuple) or len(answers) != len(questions):
        raise QuizAnswersInvalid(f"请回答全部 {len(questions)} 道题", expected=len(questions))
    for number, (answer, question) in enumerate(zip(answers, questions, strict=True), start=1):
        valid = isinstance(answer, int) and not isinstance(answer, bool)
        if not valid or not 0 <= answer < len(question.options):
            raise QuizAnswersInvalid(f"第 {number} 题的答案无效", question=number)
    return list(answers)


def _day_start(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(domain.BEIJING)
    return dt.datetime(local.year, local.month, local.day, tzinfo=domain.BEIJING)


def submit_quiz(*, agent_id: int, course_code: str, answers: list[int], now) -> QuizAttempt:
    """Grade the agent's answers (one option index per question, in the course's order):
    the score is the percent right, rounded down; the course is passed at its pass mark.
    Raises CourseNotFound, QuizAnswersInvalid, AgentNotActive (not an approved agent),
    QuizAttemptsExceeded (5 attempts per course per Beijing day)."""
    course = _published(course_code)
    questions = _questions(course)
    if not questions:
        raise CourseNotFound("该课程暂无考试", course_code=course_code)
    answers = _check_answers(answers, questions)
    right = sum(1 for a, q in zip(answers, questions, strict=True) if a == q.answer)
    percent = right * 100 // len(questions)
    start = _day_start(now)
    with transaction.atomic():
        # The agent's row lock makes the daily count exact under concurrent submissions.
        agent = Agent.objects.select_for_update().filter(pk=agent_id).first()
        if agent is None or agent.status != AgentStatus.APPROVED:
            raise AgentNotActive()
        today = QuizAttempt.objects.filter(
            agent=agent, course=course, at__gte=start, at__lt=start + dt.timedelta(days=1)
        ).count()
        if today >= MAX_ATTEMPTS_PER_DAY:
            raise QuizAttemptsExceeded(limit=MAX_ATTEMPTS_PER_DAY, course_code=course.code)
        return QuizAttempt.objects.create(
            agent=agent,
            course=course,
            score_percent=percent,
            passed=percent >= course.pass_percent,
            answers=answers,
            at=now,
        )


def seed_training() -> None:
    """Create the stock materials and courses that are missing (idempotent: keyed by
    material title and course code). What exists is left as staff edited it."""
    with transaction.atomic():
        for sort, (kind, title, plan_code, body) in enumerate(MATERIALS, start=1):
            Material.objects.get_or_create(
                title=title,
                defaults={"kind": kind, "body": body, "plan_code": plan_code, "sort": sort * 10},
            )
        for sort, item in enumerate(COURSES, start=1):
            course, created = Course.objects.get_or_create(
                code=item["code"],
                defaults={
                    "title": item["title"],
                    "summary": item["summary"],
                    "content": item["content"],
                    "pass_percent": 80,
                    "unlocks_vanity": item["unlocks_vanity"],
                    "sort": sort * 10,
                },
            )
            if created:
                Question.objects.bulk_create(
                    Question(course=course, text=text, options=list(options), answer=answer, sort=n)
                    for n, (text, options, answer) in enumerate(item["questions"], start=1)
                )


# ---------------------------------------------------------------------------- seed content

#: (kind, title, plan code, body) of the stock promotion materials.
MATERIALS = (
    (
        "POSTER",
        "芒果卡海报：39元40G，送芒果TV会员",
        "CM-MANGO-39",
        "移动芒果卡39元\n"
        "每月40G通用流量 + 100分钟国内通话\n"
        "每月赠送芒果TV会员月卡，芒果TV App内点播免流（不含直播、弹幕互动及投屏）\n"
        "无合约，套餐长期有效；本人实名办理，扫码下单包邮到家",
    ),
    (
        "COPY",
        "朋友圈文案：联通大王卡19元版",
        "CU-DAWANG-19",
        "月租19元，每月70G全国通用流量 + 30G腾讯系定向流量（微信、QQ、腾讯视频、王者荣耀、"
        "QQ音乐）。定向流量不含视频通话、小程序、公众号外链和热点共享；首月月租和流量按天折算，"
        "次月1日起全量生效。优惠期2年，到期后自动续约原资费。需本人身份证实名办理，"
        "点我的小店链接即可下单。",
    ),
    (
        "COPY",
        "推广文案：电信星卡19元",
        "CT-XINGKA-19",
        "电信星卡19元：60G全国通用流量 + 30G定向流量（抖音、快手、百度、腾讯视频），"
        "通话0.1元/分钟。首月月租按天折算，流量首月全量；优惠期至次年12月31日，到期后自动续约。"
        "无合约，一人一证实名办理，不支持代他人办卡。",
    ),
    (
        "POSTER",
        "靓号海报：广电192靓号卡39元",
        "CBN-LIANGHAO-39",
        "192靓号任选：AAA、ABCD尾号\n"
        "月租39元，含60G通用流量 + 300分钟通话\n"
        "合约期24个月，靓号须首充200元（分24个月返还）\n"
        "仅限广东、浙江、江苏办理，需年满18周岁并上传身份证正反面及手持照",
    ),
)

_BASICS_CONTENT = """\
一、实名制
手机卡必须由实际使用人用本人有效证件实名登记（《反恐怖主义法》《网络安全法》和工信部《电话用户\
真实身份信息登记规定》）。不得用自己或他人的身份证替客户办卡，不得买卖、出租、出借手机卡\
（《反电信网络诈骗法》）。客户的证件照片只在平台下单流程中上传，代理不得私下收集、保存。

二、一证五号
同一用户在同一家基础电信企业（或同一家虚拟运营商）全国范围内办理的手机卡不得超过 5 张。超出时\
系统会拒绝下单，请引导客户先注销不用的号码，不要换用他人证件。

三、如实宣传
介绍套餐必须与资费说明一致：月租、通用流量与定向流量的范围、首月按天折算、合约期、首充及返还\
方式、优惠期到期后的资费，都要讲清楚。不得使用"永久免费""无限流量不限速"等夸大或虚假说法\
（《广告法》）。

四、拒绝传销
平台佣金只来自真实售出的号卡：激活秒返、首充返、次月返和月租分成。发展下级代理本身没有任何奖励，\
不收入门费，团队最多两级。自买自卖（用自己或亲友的证件、手机号、地址、设备下单）和养卡（激活后\
很快销户或转出）都会被风控识别：核查确认后追回该订单的全部佣金（含已结算、可提现的部分），\
并冻结代理账号。
"""

_VANITY_CONTENT = """\
一、靓号类型（看尾号）
AAAA 四连号（如 8888）、AAA 三连号、ABCD 顺子（如 5678 升序、8765 降序）、AABB（如 6688）、\
ABAB（如 1212）、ABBA（如 1221）、谐音号（168 一路发、520 我爱你、1314 一生一世）、生日号等。\
尾号含 4 的号码通常价值较低。系统按号码自动定级（S、A、B、C、D 级和普通号），价格以系统显示为准，\
不得私下另收费用，不得承诺"内部号"。

二、靓号的费用
靓号一般包含三部分：一次性靓号费、月最低消费（低消）和合约期。例如"月最低消费 59 元、合约期 \
24 个月"表示：24 个月内每月费用不足 59 元的按 59 元收取。部分靓号套餐还要求首充，例如广电192\
靓号卡须首充 200 元，分 24 个月返还。合约期内销户或降档可能产生违约责任，以协议为准。

三、如实告知
下单前必须向客户讲清楚靓号费、月最低消费、合约期、首充及返还方式和可办理地区，客户确认后再下单。\
不得宣传"免费靓号"而隐瞒低消和合约，不得承诺合约期内可随意销户。
"""

#: (text, options, index of the right option) per question.
COURSES = (
    {
        "code": "basics",
        "title": "号卡销售入门",
        "summary": "实名制、一证五号、如实宣传和反传销：每位代理的必修课",
        "content": _BASICS_CONTENT,
        "unlocks_vanity": False,
        "questions": (
            (
                "客户想用朋友的身份证办卡，说朋友已经同意了。正确的做法是？",
                (
                    "可以，只要朋友同意就行",
                    "不可以，手机卡必须由实际使用人用本人证件实名登记",
                    "用代理自己的身份证代办更方便",
                    "先办下来，激活后再改成客户本人",
                ),
                1,
            ),
            (
                "关于“一证五号”，下列说法正确的是？",
                (
                    "同一用户在同一家运营商（含同一家虚拟运营商）全国范围内最多办理 5 张手机卡",
                    "同一身份证在所有运营商合计只能办 5 张卡",
                    "每个省份可以各办 5 张卡",
                    "只限制近 5 年内办理的卡",
                ),
                0,
            ),
            (
                "向客户介绍“移动芒果卡39元”，哪种说法是合规的？",
                (
                    "39元无限流量不限速",
                    "月租39元含40G通用流量，芒果TV点播免流，但不含直播、弹幕互动和投屏",
                    "办了以后终身免月租",
                    "所有视频App都免流",
                ),
                1,
            ),
            (
                "平台的代理佣金来自哪里？",
                (
                    "每发展一位下级代理就有奖励",
                    "交入门费后按层级分红",
                    "只来自真实售出的号卡：激活、首充、次月返和月租分成",
                    "按团队人数每月发工资",
                ),
                2,
            ),
            (
                "用自己或亲友的证件下单赚佣金（自买自卖），或激活后很快销户（养卡），会怎样？",
                (
                    "没关系，卡激活了佣金就是自己的",
                    "只扣 10 元手续费",
                    "风控核查确认后追回该订单全部佣金（含已结算、可提现部分），并冻结代理账号",
                    "只会收到一次警告",
                ),
                2,
            ),
        ),
    },
    {
        "code": "vanity",
        "title": "靓号销售进阶",
        "summary": "靓号类型、靓号费、低消和合约期，如实告知客户；通过后可在小店销售靓号",
        "content": _VANITY_CONTENT,
        "unlocks_vanity": True,
        "questions": (
            ("尾号 8888 属于哪种靓号？", ("AABB", "ABAB", "AAAA 四连号", "ABCD 顺子"), 2),
            ("尾号 5678 属于哪种靓号？", ("ABCD 升序顺子", "AABB", "ABBA", "AAAB"), 0),
            ("尾号 1212 属于哪种靓号？", ("ABBA", "ABAB", "AABB", "AAAB"), 1),
            (
                "一个靓号标注“月最低消费 ¥59.00，合约期 24 个月”，意思是？",
                (
                    "24 个月内每月费用不足 59 元的按 59 元收取",
                    "只有第一个月要消费满 59 元",
                    "24 个月后才开始每月收 59 元",
                    "办理时一次性付 59 元即可",
                ),
                0,
            ),
            (
                "向客户推荐靓号时，哪种做法是正确的？",
                (
                    "只讲号码好，签约后再说低消",
                    "宣传“免费靓号”，不提合约期",
                    "下单前如实告知靓号费、月最低消费、合约期和首充返还方式，客户确认后再下单",
                    "承诺合约期内可以随时免费销户",
                ),
                2,
            ),
        ),
    },
)
