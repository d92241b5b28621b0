"""Demo data: a shop with 300 members and fourteen months of history, so that tiers, points
expiry, segments, bookings and feedback have something to show right after installing.

Nothing is written behind the rules' back: a clock walks forward from fourteen months ago to
now, every registration, sale, redemption, coupon use, refund, booking (made, cancelled,
marked attended) and feedback (sent, answered, closed) goes through its ``core`` use case at
its own moment, and the scheduler's jobs (points expiry and closing past bookings as
no-shows every night, tier review on the first of the month) run on the way. The ledger,
the tiers, the downgrades and the no-shows are therefore exactly what the real rules
produce. History is not news: nothing it does is queued as a push to a member.

Bookings cover the last three months (most of them visits the member then paid for, some
cancelled in time, a few not kept) and a handful of slots still to come; feedback is spread
over the whole history, a few recent complaints still waiting for an answer.

The history is planned up front from a fixed seed and the moment the first run started, so
it is the same every time. A run that stops half-way is resumed, not repeated: the planned
events up to the last thing the demo members did are skipped (sales would be idempotent
anyway, redemptions and bookings would not). Later events find the booking or feedback they
act on by its member and creation moment, so they work the same after a resume.
"""

from __future__ import annotations

import math
import random
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select

from core import audit, loyalty
from core.clock import FixedClock, add_months
from core.context import Context
from core.errors import (
    CouponExpired,
    CouponUsed,
    NotEnoughPoints,
    PhoneTaken,
    RefundTooLarge,
    SlotFull,
)
from core.ledger.coupons import member_coupons, redeem_reward, use_coupon
from core.ledger.points import expire_points
from core.ledger.refunds import refund_sale
from core.ledger.tiers import review_tiers
from core.people.members import find_members, normalize_phone
from core.people.registration import register_member
from core.people.staff import Role, add_staff, list_staff
from core.service import bookings, feedback
from core.service.bookings import slots_for
from core.shop import Shop
from storage.models import (
    AuditRow,
    BookingRow,
    CouponRow,
    FeedbackRow,
    MemberRow,
    RefundRow,
    SaleRow,
    StaffRow,
)

SEED = 20240601
MEMBER_COUNT = 300
HISTORY_MONTHS = 14
# 138-0013-xxxx: next to the textbook fake number 13800138000, and how demo members are
# told apart from real ones later (counts, resuming).
PHONE_BLOCK = "1380013"
OWNER_CHANNEL, OWNER_ID, OWNER_NAME = "console", "owner", "店长 Demo"
STARTED, LOADED = "demo.started", "demo.loaded"
# The scheduler's hours (bot/scheduler.py): expiry and closing past bookings nightly, tier
# review on the 1st.
EXPIRY_AT, CLOSE_BOOKINGS_AT, REVIEW_AT = time(0, 30), time(1, 0), time(3, 0)
MIN_YUAN, MAX_YUAN = 30, 800
REFUNDS = 7  # the first of them partial

# Bookings: the last BOOKING_DAYS only. Of each group's visits to their home store, this
# share was booked ahead (and marked attended); EXTRA_BOOKINGS more were booked and not
# kept (cancelled in time, or a no-show); UPCOMING are slots still to come, in days from now.
BOOKING_DAYS = 90
BOOKED_VISITS = {"vip": 0.35, "loyal": 0.3, "new": 0.2, "regular": 0.15}
EXTRA_BOOKINGS = 30
CANCELLED = 0.6  # of the extra bookings; the others are left to the nightly no-show job
UPCOMING = (0, 0, 0, 1, 1, 2, 4)
PARTY = (1, 1, 1, 2, 2, 2, 3, 4)
# Feedback: after some sales over the whole history; the last FRESH_COMPLAINTS are low
# ratings from the last days that nobody has answered yet.
FEEDBACK_COUNT = 40
FRESH_COMPLAINTS = 2
FRESH_DAYS = 3

REGISTER, SALE, REDEEM, USE, REFUND, EXPIRE, REVIEW = (
    "register",
    "sale",
    "redeem",
    "use",
    "refund",
    "expire",
    "review",
)
BOOK, CANCEL, ATTEND, CLOSE_BOOKINGS = "book", "cancel", "attend", "close_bookings"
FEEDBACK, ANSWER, CLOSE_FEEDBACK = "feedback", "answer", "close_feedback"
JOBS = (EXPIRE, REVIEW, CLOSE_BOOKINGS)

# Roughly by how common they are: the planner picks from the front more often.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
    "许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁沈"
)
GIVEN_F = (
    "静",
    "丽",
    "芳",
    "敏",
    "婷",
    "雪",
    "慧",
    "颖",
    "琳",
    "丹",
    "晶",
    "洁",
    "欣怡",
    "雨涵",
    "梓涵",
    "诗琪",
    "佳怡",
    "晓燕",
    "秀英",
    "海燕",
    "思雨",
    "可馨",
    "紫萱",
    "美玲",
    "桂英",
    "雅婷",
    "梦瑶",
    "晓雯",
    "嘉欣",
    "一诺",
    "若曦",
    "文静",
    "慧敏",
    "佳琪",
)
GIVEN_M = (
    "伟",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "杰",
    "涛",
    "明",
    "超",
    "鹏",
    "斌",
    "浩",
    "宇",
    "晨",
    "浩然",
    "子轩",
    "宇航",
    "俊杰",
    "建华",
    "志强",
    "国庆",
    "文博",
    "建国",
    "家豪",
    "思远",
    "振宇",
    "天佑",
    "明辉",
    "永康",
    "嘉树",
    "博文",
)
ENGLISH_F = ("Emily", "Olivia", "Sophie", "Chloe", "Grace", "Hannah", "Alice", "Laura")
ENGLISH_M = ("James", "Daniel", "Michael", "Thomas", "Lucas", "Oliver", "David", "Ben")
ENGLISH_SURNAMES = ("Carter", "Bennett", "Walker", "Hughes", "Foster", "Reed", "Murphy", "Turner")
TAGS = ("附近居民", "团购", "企业客户", "送礼", "学生", "线上下单", "老顾客")
NOTES = {
    "zh_CN": ("靠窗的位置", "带小朋友,需要宝宝椅", "朋友生日", "想试试新品", "可能晚到十分钟"),
    "en": ("Window seat, please", "Bringing my kids", "A friend's birthday"),
}

# Feedback texts by (topic, praise?): Chinese, then English. Each is sorted into its topic
# by core/service/feedback.py's keywords (tests/test_demo.py checks it); "other" is plain praise.
FEEDBACK_TEXTS: dict[tuple[str, bool], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("waiting", False): (
        (
            "排队太久了,等了快二十分钟",
            "周末人太多,排了半天队",
            "出餐有点慢,赶时间的时候很着急",
            "下单以后等了好久才拿到",
        ),
        ("Waited almost 20 minutes in the queue.", "The line was far too slow on Saturday."),
    ),
    ("waiting", True): (
        ("今天基本没排队,很快就拿到了",),
        ("No queue today, in and out in minutes.",),
    ),
    ("product", False): (
        ("咖啡有点凉了", "今天的拿铁味道偏苦", "蛋糕不新鲜了", "奶茶太甜了,下次想要少糖"),
        ("My coffee was lukewarm.", "The croissant tasted stale."),
    ),
    ("product", True): (
        ("新品口味很棒,推荐!", "这次的蛋糕味道特别好"),
        ("Great flavour, the new blend is lovely.",),
    ),
    ("price", False): (
        ("价格有点贵,希望多些优惠", "最近涨价了,感觉不太值", "小杯的价钱和大杯差不多,不划算"),
        ("A bit expensive for the size.", "Prices went up again, not really worth it."),
    ),
    ("price", True): (
        ("会员折扣很划算", "性价比很高,积分还能换券"),
        ("Good value with the member discount.",),
    ),
    ("environment", False): (
        ("店里有点吵,音乐声太大", "洗手间不太干净", "座位不够,经常找不到地方坐"),
        ("Tables were dirty when we sat down.", "Too noisy to talk, the music is very loud."),
    ),
    ("environment", True): (
        ("环境很舒服,适合坐一下午", "新装修以后环境很好"),
        ("Lovely clean place, nice music.",),
    ),
    ("service", False): (
        ("店员态度有点冷淡", "收银员不太耐心,问了两次才回答", "点单时店员没听清,做错了也没道歉"),
        ("The cashier was rather rude.",),
    ),
    ("service", True): (
        ("店员很热情,推荐得很用心", "服务很周到,谢谢店长"),
        ("Friendly staff, thank you!", "The barista was really helpful."),
    ),
    ("other", True): (
        (
            "很喜欢这家店,下次还来!",
            "一直来买,很满意",
            "朋友推荐来的,果然不错",
            "包装很好看,送人很合适",
        ),
        ("Love this place, will be back!", "Always a pleasure to come here."),
    ),
}
# Topics by rating: praise (4-5 stars) is mostly general, complaints name what went wrong.
PRAISE_TOPICS = {"other": 40, "service": 20, "product": 15, "environment": 12, "price": 8}
PRAISE_TOPICS |= {"waiting": 5}
COMPLAINT_TOPICS = {"waiting": 30, "product": 25, "price": 15, "environment": 15, "service": 15}
# How many of the older feedback give each rating (the fresh complaints give 1 or 2).
RATINGS = {5: 16, 4: 12, 3: 4, 2: 3, 1: 3}
assert sum(RATINGS.values()) == FEEDBACK_COUNT - FRESH_COMPLAINTS
# The owner's answers: thanks for praise, a topic's own answer for a complaint.
ANSWERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "thanks": (
        ("谢谢您的好评,期待您再次光临!", "感谢支持,我们会继续努力!", "谢谢!已经转告同事们了。"),
        ("Thank you, see you again soon!", "Thanks a lot, we have passed it on to the team."),
    ),
    "waiting": (
        ("抱歉让您久等了!高峰时段我们会多安排一位同事,也欢迎提前预约。",),
        ("Sorry for the wait! We are adding staff at peak times; booking ahead helps too.",),
    ),
    "product": (
        ("非常抱歉,下次到店请告诉店员,我们为您重新做一份。",),
        ("Sorry about that. Tell us at the counter next time and we will make you a fresh one.",),
    ),
    "price": (
        ("感谢建议!积分可以兑换代金券,近期也会推出套餐优惠。",),
        ("Thanks for the feedback! Points can be traded for vouchers, and set deals are coming.",),
    ),
    "environment": (
        ("谢谢提醒,已经安排加强清洁和巡查。",),
        ("Thanks for telling us, we have stepped up cleaning.",),
    ),
    "service": (
        ("非常抱歉给您带来不好的体验,我们已经和当班同事沟通。",),
        ("We are sorry about that and have talked with the staff on duty.",),
    ),
}


@dataclass(frozen=True)
class DemoReport:
    """What the demo shop holds (demo members only), whether or not this call added it."""

    members: int
    sales: int
    refunds: int
    coupons: int
    coupons_used: int
    tiers: dict[str, int] = field(default_factory=dict)
    bookings: dict[str, int] = field(default_factory=dict)  # by status
    feedback: dict[str, int] = field(default_factory=dict)  # by status
    already_loaded: bool = False


# --- the plan (pure: seed and end moment in, people and events out) -----------------------


@dataclass(frozen=True)
class _Person:
    kind: str
    name: str
    phone: str
    birthday: date
    gender: str
    locale: str
    store: str
    consent: bool
    tags: tuple[str, ...]


@dataclass(eq=False)
class _Event:
    at: datetime  # shop-local and aware; unique and rising once planned
    kind: str
    person: int = -1
    store: str = ""
    amount_fen: int = 0  # a sale's amount; a partial refund's amount (0: refund in full)
    reward: str = ""
    sale: _Event | None = None  # the sale a refund takes back or a feedback is about
    receipt: str = ""
    slot: datetime | None = None  # a booking's slot
    party: int = 0
    text: str = ""  # a booking's note, a feedback's text, an answer
    rating: int = 0
    of: _Event | None = None  # the booking or feedback a later event acts on


@dataclass(frozen=True)
class _Behaviour:
    """How one group of members shops. Days are counted back from the end of the history."""

    kind: str
    count: int
    joined_ago: tuple[int, int]
    gap_days: tuple[float, float] = (0, 0)  # mean days between visits; 0: never buys
    median_yuan: tuple[int, int] = (0, 0)
    sigma: float = 0.6
    stop_ago: tuple[int, int] = (1, 1)
    active_days: tuple[int, int] | None = None  # instead of stop_ago: stop this long after joining


ALL = 10_000  # the start of the history: ALL - 90 is 90 days after it
BEHAVIOURS = (
    _Behaviour("potential", 30, (1, ALL)),
    _Behaviour("new", 25, (2, 29), (6, 12), (90, 160)),
    _Behaviour("regular", 147, (60, ALL), (45, 100), (100, 200)),
    _Behaviour("loyal", 20, (ALL - 90, ALL), (16, 21), (240, 300), 0.5),
    _Behaviour("vip", 3, (ALL - 20, ALL), (4, 5), (460, 520), 0.35),
    _Behaviour("at_risk", 25, (ALL - 40, ALL), (18, 27), (250, 350), 0.5, (95, 170)),
    _Behaviour("dormant", 25, (ALL - 40, ALL), (18, 27), (250, 350), 0.5, (190, 320)),
    _Behaviour("lost", 25, (ALL - 10, ALL), (4, 7), (380, 460), 0.4, active_days=(15, 40)),
)
assert sum(b.count for b in BEHAVIOURS) == MEMBER_COUNT


class _Planner:
    def __init__(self, shop: Shop, until: datetime, seed: int) -> None:
        self.shop = shop
        self.until = until
        self.rng = random.Random(seed)
        self.first = add_months(until, -HISTORY_MONTHS).date()
        self.today = until.date()
        self.days = (self.today - self.first).days
        self.people: list[_Person] = []
        self.events: list[_Event] = []
        self.stores = [s.code for s in shop.stores]
        self.names: set[str] = set()
        self.registered: dict[int, datetime] = {}
        self.said: dict[tuple[str, ...], int] = {}  # texts -> how many times said
        zone = until.tzinfo
        if not isinstance(zone, ZoneInfo):
            raise ValueError("the end of the demo history needs a ZoneInfo time zone")
        self.zone = zone

    def plan(self) -> tuple[list[_Person], list[_Event]]:
        suffixes = self.rng.sample(range(10_000), MEMBER_COUNT)
        sales: list[tuple[str, _Event]] = []
        for behaviour in BEHAVIOURS:
            for _ in range(behaviour.count):
                index = len(self.people)
                person = self._person(behaviour.kind, f"{PHONE_BLOCK}{suffixes[index]:04d}")
                self.people.append(person)
                sales += [(behaviour.kind, s) for s in self._history(index, person, behaviour)]
        self._refunds(sales)
        # Nothing can expire before the first points are a lifetime old: the nightly job
        # would find nothing, so it only runs from then on.
        expiring = add_months(self.until, -HISTORY_MONTHS + self.shop.points.lifetime_months)
        for offset in range(1, self.days + 1):
            day = self.first + timedelta(days=offset)
            if day >= expiring.date():
                self.events.append(_Event(self._at(day, EXPIRY_AT), EXPIRE))
            if day.day == 1:
                self.events.append(_Event(self._at(day, REVIEW_AT), REVIEW))
        # Drawn last, so adding them left the rest of the plan as it was.
        self._bookings(sales)
        self._feedback(sales)
        return self.people, self._finish()

    # people

    def _person(self, kind: str, phone: str) -> _Person:
        rng = self.rng
        female = rng.random() < 0.62
        english = rng.random() < 0.04
        for _ in range(100):
            if english:
                first = rng.choice(ENGLISH_F if female else ENGLISH_M)
                name = f"{first} {rng.choice(ENGLISH_SURNAMES)}"
            else:
                surname = SURNAMES[min(int(rng.expovariate(1 / 12)), len(SURNAMES) - 1)]
                name = surname + rng.choice(GIVEN_F if female else GIVEN_M)
            if name not in self.names:
                break
        self.names.add(name)
        age_days = rng.randint(18 * 365, 68 * 365)
        tags = set(rng.sample(TAGS, rng.choice((1, 1, 2)))) if rng.random() < 0.18 else set()
        if kind == "vip" or (kind == "loyal" and rng.random() < 0.5):
            tags.add("VIP")
        return _Person(
            kind=kind,
            name=name,
            phone=phone,
            birthday=self.first - timedelta(days=age_days),
            gender="x" if rng.random() < 0.02 else ("f" if female else "m"),
            locale="en" if english else "zh_CN",
            store=self.stores[0]
            if rng.random() < 0.65
            else rng.choice(self.stores[1:] or self.stores),
            consent=rng.random() < 0.6,
            tags=tuple(sorted(tags)),
        )

    # visits and what happens at them

    def _ago(self, days: int) -> int:
        """Days before the end; values near ``ALL`` count from the start instead."""
        if days > ALL // 2:
            days = self.days - (ALL - days)
        return min(max(days, 0), self.days)

    def _at(self, day: date, clock_time: time) -> datetime:
        return datetime.combine(day, clock_time, tzinfo=self.until.tzinfo)

    def _open_time(self, store: str, day: date) -> datetime | None:
        """A moment the store is open that day (not in its last quarter hour), or None."""
        found = self.shop.store(store)
        hours = found.hours.on(day.weekday()) if found else None
        if hours is None:
            return None
        opens, closes = self._at(day, hours[0]), self._at(day, hours[1])
        minutes = max(int((closes - opens).total_seconds() // 60) - 15, 1)
        return opens + timedelta(
            minutes=self.rng.randrange(minutes), seconds=self.rng.randrange(60)
        )

    def _visit(self, person: _Person, day: date) -> tuple[datetime, str] | None:
        """Mostly the home store; another one now and then, or when home is closed."""
        first = person.store
        if self.rng.random() < 0.15:
            first = self.rng.choice(self.stores)
        for store in [first, *(s for s in self.stores if s != first)]:
            at = self._open_time(store, day)
            if at is not None:
                return at, store
        return None

    def _amount_fen(self, median: int, sigma: float) -> int:
        yuan = self.rng.lognormvariate(math.log(median), sigma)
        yuan = min(max(yuan, MIN_YUAN), MAX_YUAN)
        return round(yuan * 10) * 10  # prices to the jiao, stored in fen

    def _history(self, index: int, person: _Person, b: _Behaviour) -> list[_Event]:
        rng = self.rng
        joined = self.today - timedelta(days=rng.randint(*map(self._ago, b.joined_ago)))
        visit = self._visit(person, joined)
        for _ in range(6):  # every store closed that day: come the next one
            if visit is not None:
                break
            joined += timedelta(days=1)
            visit = self._visit(person, joined)
        if visit is None:  # a shop file with no opening hours at all
            self.registered[index] = self._at(joined, time(12))
            self.events.append(_Event(self.registered[index], REGISTER, index))
            return []
        registered = visit[0] - timedelta(minutes=rng.randint(2, 8))
        self.registered[index] = registered
        self.events.append(_Event(registered, REGISTER, index, visit[1]))
        if not b.gap_days[1]:
            return []
        if b.active_days:
            stop = joined + timedelta(days=rng.randint(*b.active_days))
        else:
            stop = self.today - timedelta(days=rng.randint(*b.stop_ago))
        gap = rng.uniform(*b.gap_days)
        median = rng.randint(*b.median_yuan)
        sales: list[_Event] = []
        day = joined
        while day <= stop:
            if visit is not None:
                at, store = visit
                sale = _Event(at, SALE, index, store, self._amount_fen(median, b.sigma))
                sales.append(sale)
                self.events.append(sale)
            day += timedelta(days=max(1, round(rng.expovariate(1 / gap))))
            visit = self._visit(person, day)
        self._rewards(index, sales)
        return sales

    def _rewards(self, index: int, sales: list[_Event]) -> None:
        """Now and then the member trades points for a coupon after paying, and hands it
        in at a later visit. Points are estimated without the tier bonus; a redemption the
        real balance cannot pay is simply refused when it runs."""
        rng = self.rng
        rules = self.shop.points
        rewards = sorted(self.shop.rewards, key=lambda r: r.points)
        points = 0
        coupon_until: datetime | None = None
        for sale in sales:
            if coupon_until is not None:
                if sale.at < coupon_until - timedelta(days=1) and rng.random() < 0.8:
                    self.events.append(
                        _Event(sale.at - timedelta(minutes=1), USE, index, sale.store)
                    )
                    coupon_until = None
                elif sale.at >= coupon_until:
                    coupon_until = None  # forgotten; it expired unused
            points += sale.amount_fen // rules.step_fen * rules.points_per_step
            affordable = [r for r in rewards if r.points <= points]
            if coupon_until is None and affordable and rng.random() < 0.25:
                reward = rng.choice(affordable[-2:])
                at = sale.at + timedelta(minutes=rng.randint(1, 5))
                self.events.append(_Event(at, REDEEM, index, sale.store, reward=reward.code))
                points -= reward.points
                coupon_until = at + timedelta(days=reward.valid_days)

    def _refunds(self, sales: list[tuple[str, _Event]]) -> None:
        last_day = self.today - timedelta(days=8)
        candidates = [
            sale
            for kind, sale in sales
            if kind in ("regular", "loyal", "at_risk")
            and sale.amount_fen >= 10_000
            and sale.at.date() <= last_day
        ]
        for n, sale in enumerate(self.rng.sample(candidates, min(REFUNDS, len(candidates)))):
            day = sale.at.date() + timedelta(days=self.rng.randint(1, 6))
            at = self._open_time(sale.store, day)
            if at is None:  # closed that day: come back the next
                day += timedelta(days=1)
                at = self._open_time(sale.store, day) or self._at(day, time(12))
            part = 0
            if n == 0:  # one item of several brought back
                part = sale.amount_fen * self.rng.randint(25, 60) // 100 // 100 * 100
            self.events.append(_Event(at, REFUND, sale.person, sale.store, part, sale=sale))

    # bookings

    def _slots(self, code: str, day: date) -> list[datetime]:
        """The store's bookable slot starts that day, shop-local."""
        store = self.shop.store(code)
        if store is None:
            return []
        return [at.astimezone(self.zone) for at in slots_for(self.shop, store, day, self.zone)]

    def _book(
        self,
        index: int,
        store: str,
        slot: datetime,
        ahead: tuple[int, int],
        taken: set[tuple[int, datetime]],
    ) -> _Event | None:
        """The member books ``slot`` some days ahead, in the daytime; None when they could
        not have (not registered yet, already holding that slot)."""
        rng = self.rng
        rules = self.shop.bookings
        first, last = ahead[0], min(ahead[1], rules.horizon_days)
        found = self.shop.store(store)
        if found is None or first > last or (index, slot) in taken:
            return None
        day = slot.date() - timedelta(days=rng.randint(first, last))
        at = self._at(day, time(8)) + timedelta(minutes=rng.randrange(15 * 60))
        party = min(rng.choice(PARTY), found.slot_capacity, rules.max_party)
        note = rng.choice(NOTES[self.people[index].locale]) if rng.random() < 0.2 else ""
        if at <= self.registered[index] + timedelta(hours=1) or at >= slot - timedelta(hours=1):
            return None
        taken.add((index, slot))
        event = _Event(at, BOOK, index, store, slot=slot, party=party, text=note)
        self.events.append(event)
        return event

    def _bookings(self, sales: list[tuple[str, _Event]]) -> None:
        rng = self.rng
        since = self.today - timedelta(days=BOOKING_DAYS)
        taken: set[tuple[int, datetime]] = set()
        # Visits booked ahead: the member came in their slot (and paid); staff mark them.
        for kind, sale in sales:
            chance = BOOKED_VISITS.get(kind, 0.0)
            if sale.at.date() <= since or rng.random() >= chance:
                continue
            if sale.store != self.people[sale.person].store:
                continue
            started = [at for at in self._slots(sale.store, sale.at.date()) if at <= sale.at]
            if not started:
                continue
            booking = self._book(sale.person, sale.store, started[-1], (1, 7), taken)
            if booking is not None:
                at = started[-1] + timedelta(minutes=rng.randint(2, 25), seconds=rng.randrange(60))
                self.events.append(_Event(at, ATTEND, sale.person, sale.store, of=booking))
        # Booked and not kept: cancelled before the cut-off, or never came.
        members = [i for i, p in enumerate(self.people) if p.kind in BOOKED_VISITS]
        cutoff = timedelta(hours=self.shop.bookings.cancel_cutoff_hours)
        for _ in range(EXTRA_BOOKINGS):
            index = rng.choice(members)
            store = self.people[index].store
            slots = self._slots(store, since + timedelta(days=rng.randint(1, BOOKING_DAYS - 1)))
            booking = self._book(index, store, rng.choice(slots), (1, 7), taken) if slots else None
            if booking is None or rng.random() >= CANCELLED:
                continue
            assert booking.slot is not None
            earliest, latest = booking.at + timedelta(minutes=30), booking.slot - cutoff
            if latest - earliest > timedelta(hours=1):
                at = earliest + (latest - earliest - timedelta(minutes=30)) * rng.random()
                at = at.replace(microsecond=0)
                self.events.append(_Event(at, CANCEL, index, store, of=booking))
        # Slots still to come (today's after now, the next days'), booked in past days.
        for offset in UPCOMING:
            day = self.today + timedelta(days=offset)
            for _ in range(20):
                index = rng.choice(members)
                store = self.people[index].store
                later = self.until + timedelta(hours=1)
                slots = [at for at in self._slots(store, day) if at > later]
                ahead = (offset + 1, max(offset + 1, 7))
                if slots and self._book(index, store, rng.choice(slots), ahead, taken):
                    break
        # The scheduler's nightly job turns bookings nobody marked into no-shows.
        for n in range(1, BOOKING_DAYS + 1):
            day = since + timedelta(days=n)
            self.events.append(_Event(self._at(day, CLOSE_BOOKINGS_AT), CLOSE_BOOKINGS))

    # feedback

    def _say(self, texts: tuple[tuple[str, ...], tuple[str, ...]], en: bool) -> str:
        """One of the Chinese or English texts: in turn from a random start, few repeats."""
        options = texts[1] if en else texts[0]
        n = self.said.get(options, self.rng.randrange(len(options)))
        self.said[options] = n + 1
        return options[n % len(options)]

    def _daytime(self, at: datetime) -> datetime:
        """``at``, or the next morning's working hours when it falls in the night."""
        if at.hour >= 22:
            at = self._at(at.date() + timedelta(days=1), time(9))
        elif at.hour < 9:
            at = self._at(at.date(), time(9))
        else:
            return at
        return at + timedelta(minutes=self.rng.randrange(150), seconds=self.rng.randrange(60))

    def _feedback(self, sales: list[tuple[str, _Event]]) -> None:
        rng = self.rng
        fresh_since = self.until - timedelta(days=FRESH_DAYS)
        older = [s for _, s in sales if s.at < fresh_since]
        fresh = [s for _, s in sales if fresh_since <= s.at < self.until - timedelta(hours=6)]
        picked = rng.sample(older, min(FEEDBACK_COUNT - FRESH_COMPLAINTS, len(older)))
        recent = rng.sample(fresh, min(FRESH_COMPLAINTS, len(fresh)))
        ratings = [rating for rating, n in RATINGS.items() for _ in range(n)]
        rng.shuffle(ratings)
        ratings = ratings[: len(picked)] + [rng.choice((1, 2)) for _ in recent]
        for sale, rating in zip(picked + recent, ratings, strict=True):
            en = self.people[sale.person].locale == "en"
            praise = rating >= 4
            topics = PRAISE_TOPICS if praise else COMPLAINT_TOPICS
            topic = rng.choices(list(topics), weights=list(topics.values()))[0]
            text = self._say(FEEDBACK_TEXTS[topic, praise], en)
            at = sale.at + timedelta(minutes=rng.randint(20, 300), seconds=rng.randrange(60))
            about = sale if rng.random() < 0.5 else None  # names the receipt
            sent = _Event(
                at, FEEDBACK, sale.person, sale.store, sale=about, text=text, rating=rating
            )
            self.events.append(sent)
            if sale in recent:
                continue  # not answered yet: the urgent ones on top of the staff's list
            # The owner answers complaints always and most praise, within a day or two;
            # closes some cases afterwards, and praise left unanswered.
            done = at
            if not praise or rng.random() < 0.8:
                key = "thanks" if praise else topic
                done = self._daytime(at + timedelta(minutes=rng.randint(30, 40 * 60)))
                answer = self._say(ANSWERS[key], en)
                self.events.append(_Event(done, ANSWER, sale.person, text=answer, of=sent))
                if rng.random() >= (0.6 if rating <= 2 else 0.3):
                    continue
            later = timedelta(days=rng.randint(1, 4), minutes=rng.randrange(600))
            self.events.append(
                _Event(self._daytime(done + later), CLOSE_FEEDBACK, sale.person, of=sent)
            )

    def _finish(self) -> list[_Event]:
        """Order the events, give each its own second, drop what lies in the future and
        number the receipts per store and day."""
        events = sorted(self.events, key=lambda e: e.at)  # stable: ties keep plan order
        previous: datetime | None = None
        for event in events:
            if previous is not None and event.at <= previous:
                event.at = previous + timedelta(seconds=1)
            previous = event.at
        events = [e for e in events if e.at < self.until]
        counters: dict[tuple[str, date], int] = {}
        for event in events:
            if event.kind == SALE:
                key = (event.store, event.at.date())
                counters[key] = counters.get(key, 0) + 1
                event.receipt = f"{event.store.upper()}-{event.at:%Y%m%d}-{counters[key]:03d}"
        return events


def _plan(shop: Shop, until: datetime, seed: int = SEED) -> tuple[list[_Person], list[_Event]]:
    """The whole history ending at ``until`` (shop-local): the same inputs, the same plan."""
    return _Planner(shop, until, seed).plan()


# --- running it --------------------------------------------------------------------------


def _demo_member() -> ColumnElement[bool]:
    return MemberRow.phone.like(f"+86{PHONE_BLOCK}%")


async def _loaded(ctx: Context) -> bool:
    async with ctx.db.read() as s:
        return await s.scalar(select(AuditRow.id).where(AuditRow.action == LOADED)) is not None


class ShopInUse(Exception):
    """The database holds a shop's own members or staff: the demo would mix into them."""


async def _end_of_history(ctx: Context) -> datetime:
    """When the first run started: a resumed run keeps that end, hence the same plan. A
    first run needs a database without members and staff (ShopInUse otherwise)."""
    async with ctx.db.transaction() as s:
        details = await s.scalar(
            select(AuditRow.details).where(AuditRow.action == STARTED).order_by(AuditRow.id)
        )
        if details:
            return datetime.fromisoformat(details["until"]).astimezone(ctx.zone)
        for table in (MemberRow, StaffRow):
            if await s.scalar(select(table.id).limit(1)) is not None:
                raise ShopInUse()
        until = ctx.now().astimezone(ctx.zone).replace(microsecond=0)
        audit.record(s, ctx.now(), audit.SYSTEM, STARTED, None, until=until.isoformat())
        return until


async def _progress(ctx: Context) -> tuple[dict[str, int], datetime | None]:
    """Demo members already on file (by phone) and the moment of their last recorded act."""
    async with ctx.db.read() as s:
        rows = await s.execute(select(MemberRow.phone, MemberRow.id).where(_demo_member()))
        members = {phone: member_id for phone, member_id in rows if phone}
        last = await s.scalar(
            select(func.max(AuditRow.at))
            .join(MemberRow, MemberRow.id == AuditRow.member_id)
            .where(_demo_member())
        )
    return members, last


async def _owner(ctx: Context) -> int:
    for staff in await list_staff(ctx):
        if (staff.channel, staff.external_id, staff.role) == (OWNER_CHANNEL, OWNER_ID, Role.OWNER):
            return staff.id
    owner = await add_staff(
        ctx,
        channel=OWNER_CHANNEL,
        external_id=OWNER_ID,
        role=Role.OWNER.value,
        store=None,
        name=OWNER_NAME,
    )
    return owner.id


async def _member_id(ctx: Context, person: _Person, ids: dict[str, int], owner: int) -> int:
    phone = normalize_phone(person.phone)
    if phone in ids:
        return ids[phone]
    try:
        member = await register_member(
            ctx,
            name=person.name,
            phone=person.phone,
            birthday=person.birthday,
            gender=person.gender,
            locale=person.locale,
            home_store=person.store,
            marketing_consent=person.consent,
            tags=list(person.tags),
            actor=audit.staff_actor(owner),
        )
    except PhoneTaken:
        member = next(m for m in await find_members(ctx, person.phone) if m.phone == phone)
    ids[phone] = member.id
    return member.id


async def _booking_of(ctx: Context, member: int, booked: _Event) -> int | None:
    """The booking made by a planned event (also one made before a resume), or None when it
    was not made."""
    async with ctx.db.read() as s:
        found: int | None = await s.scalar(
            select(BookingRow.id).where(
                BookingRow.member_id == member, BookingRow.created_at == booked.at
            )
        )
        return found


async def _feedback_of(ctx: Context, member: int, sent: _Event) -> int | None:
    async with ctx.db.read() as s:
        found: int | None = await s.scalar(
            select(FeedbackRow.id).where(
                FeedbackRow.member_id == member, FeedbackRow.created_at == sent.at
            )
        )
        return found


async def _run(ctx: Context, event: _Event, member: int, owner: int) -> None:
    """One planned event through its use case; refusals the plan could not foresee (not
    enough points after expiry, no coupon to hand in, a slot filled up) are skipped like
    at a real counter."""
    if event.kind == SALE:
        await loyalty.record_sale(
            ctx,
            store=event.store,
            receipt_no=event.receipt,
            member_id=member,
            amount_fen=event.amount_fen,
            staff_id=owner,
            notify=False,
        )
    elif event.kind == REDEEM:
        with suppress(NotEnoughPoints):
            await redeem_reward(ctx, member, event.reward)
    elif event.kind == USE:
        coupons = await member_coupons(ctx, member)
        if coupons:
            with suppress(CouponUsed, CouponExpired):
                await use_coupon(ctx, coupons[0].code, store=event.store, staff_id=owner)
    elif event.kind == REFUND:
        assert event.sale is not None
        with suppress(RefundTooLarge):
            await refund_sale(
                ctx,
                store=event.store,
                receipt_no=event.sale.receipt,
                amount_fen=event.amount_fen or None,
                staff_id=owner,
                notify=False,
            )
    elif event.kind == EXPIRE:
        await expire_points(ctx)
    elif event.kind == REVIEW:
        await review_tiers(ctx, notify=False)
    elif event.kind == CLOSE_BOOKINGS:
        await bookings.close_past_bookings(ctx)
    elif event.kind == BOOK:
        assert event.slot is not None
        # Full (other members took the places): this one gives up; what would have
        # followed (attending, cancelling) finds no booking and is skipped.
        with suppress(SlotFull):
            await bookings.book(ctx, member, event.store, event.slot, event.party, event.text)
    elif event.kind in (CANCEL, ATTEND):
        assert event.of is not None
        booking = await _booking_of(ctx, member, event.of)
        if booking is not None and event.kind == CANCEL:
            await bookings.cancel(ctx, member, booking)
        elif booking is not None:
            await bookings.mark_booking(ctx, booking, "attended", owner)
    elif event.kind == FEEDBACK:
        receipt = event.sale.receipt if event.sale else None
        await feedback.submit_feedback(
            ctx, member, event.rating, event.text, store=event.store, receipt_no=receipt
        )
    elif event.kind in (ANSWER, CLOSE_FEEDBACK):
        assert event.of is not None
        found = await _feedback_of(ctx, member, event.of)
        if found is not None and event.kind == ANSWER:
            await feedback.answer_feedback(ctx, found, event.text, staff_id=owner, notify=False)
        elif found is not None:
            await feedback.close_feedback(ctx, found, staff_id=owner)


async def _report(ctx: Context, *, already_loaded: bool) -> DemoReport:
    demo = _demo_member()
    coupons = select(func.count(CouponRow.id)).join(MemberRow, MemberRow.id == CouponRow.member_id)
    queries = {
        "members": select(func.count(MemberRow.id)).where(demo),
        "sales": select(func.count(SaleRow.id))
        .join(MemberRow, MemberRow.id == SaleRow.member_id)
        .where(demo),
        "refunds": select(func.count(RefundRow.id))
        .join(SaleRow, SaleRow.id == RefundRow.sale_id)
        .join(MemberRow, MemberRow.id == SaleRow.member_id)
        .where(demo),
        "coupons": coupons.where(demo),
        "coupons_used": coupons.where(demo, CouponRow.used_at.is_not(None)),
    }
    by_status = {
        "bookings": select(BookingRow.status, func.count())
        .join(MemberRow, MemberRow.id == BookingRow.member_id)
        .where(demo)
        .group_by(BookingRow.status),
        "feedback": select(FeedbackRow.status, func.count())
        .join(MemberRow, MemberRow.id == FeedbackRow.member_id)
        .where(demo)
        .group_by(FeedbackRow.status),
    }
    async with ctx.db.read() as s:
        counts = {name: int(await s.scalar(query) or 0) for name, query in queries.items()}
        tiers: dict[str, int] = {
            tier: int(n)
            for tier, n in await s.execute(
                select(MemberRow.tier, func.count()).where(demo).group_by(MemberRow.tier)
            )
        }
        statuses = {
            name: {status: int(n) for status, n in await s.execute(query)}
            for name, query in by_status.items()
        }
    booking_statuses = ("booked", "attended", "no_show", "cancelled")
    feedback_statuses = (feedback.OPEN, feedback.ANSWERED, feedback.CLOSED)
    return DemoReport(
        **counts,
        tiers={t.code: tiers.get(t.code, 0) for t in ctx.shop.tiers.levels},
        bookings={k: statuses["bookings"].get(k, 0) for k in booking_statuses},
        feedback={k: statuses["feedback"].get(k, 0) for k in feedback_statuses},
        already_loaded=already_loaded,
    )


async def load_demo(ctx: Context) -> DemoReport:
    """Fill the database with the demo shop (once): an owner, 300 members and their history
    up to now. A second call adds nothing and says so in ``already_loaded``."""
    if await _loaded(ctx):
        return await _report(ctx, already_loaded=True)
    until = await _end_of_history(ctx)
    people, events = _plan(ctx.shop, until)
    ids, resume_after = await _progress(ctx)
    clock = FixedClock(until)
    at = replace(ctx, clock=clock)
    clock.set(datetime.combine(add_months(until, -HISTORY_MONTHS).date(), time(9), until.tzinfo))
    owner = await _owner(at)
    for event in events:
        if resume_after is not None and (
            event.at < resume_after or (event.at == resume_after and event.kind not in JOBS)
        ):
            continue  # done before the interruption (jobs at that moment are safe to redo)
        clock.set(event.at)
        person = people[event.person] if event.person >= 0 else None
        member = await _member_id(at, person, ids, owner) if person else 0
        if event.kind != REGISTER:
            await _run(at, event, member, owner)
    report = await _report(ctx, already_loaded=False)
    async with ctx.db.transaction() as s:
        audit.record(
            s,
            ctx.now(),
            audit.SYSTEM,
            LOADED,
            None,
            until=until.isoformat(),
            members=report.members,
            sales=report.sales,
            coupons=report.coupons,
            bookings=sum(report.bookings.values()),
            feedback=sum(report.feedback.values()),
        )
    return report
