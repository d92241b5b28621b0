"""The demo's plan, pure: a seed and the end of the history in, the shop's people and the
events of their fourteen months out — the same inputs, the same plan."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.demo.people import (
    ANSWERS,
    COMPLAINT_TOPICS,
    ENGLISH_F,
    ENGLISH_M,
    ENGLISH_SURNAMES,
    FEEDBACK_TEXTS,
    GIVEN_F,
    GIVEN_M,
    NOTES,
    PRAISE_TOPICS,
    SURNAMES,
    TAGS,
)
from core.clock import add_months
from core.service.bookings import slots_for
from core.shop import Shop

SEED = 20240601
MEMBER_COUNT = 300
HISTORY_MONTHS = 14
# 138-0013-xxxx: next to the textbook fake number 13800138000, and how demo members are
# told apart from real ones later (counts, resuming).
PHONE_BLOCK = "1380013"
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
# How many of the older feedback give each rating (the fresh complaints give 1 or 2).
RATINGS = {5: 16, 4: 12, 3: 4, 2: 3, 1: 3}
assert sum(RATINGS.values()) == FEEDBACK_COUNT - FRESH_COMPLAINTS

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


@dataclass(frozen=True)
class Person:
    """A demo member as planned: who they are, before they register."""

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
class Event:
    """One thing that happens in the history: its moment, its kind, and what it acts on."""

    at: datetime  # shop-local and aware; unique and rising once planned
    kind: str
    person: int = -1
    store: str = ""
    amount_fen: int = 0  # a sale's amount; a partial refund's amount (0: refund in full)
    reward: str = ""
    sale: Event | None = None  # the sale a refund takes back or a feedback is about
    receipt: str = ""
    slot: datetime | None = None  # a booking's slot
    party: int = 0
    text: str = ""  # a booking's note, a feedback's text, an answer
    rating: int = 0
    of: Event | None = None  # the booking or feedback a later event acts on


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
        self.people: list[Person] = []
        self.events: list[Event] = []
        self.stores = [s.code for s in shop.stores]
        self.names: set[str] = set()
        self.registered: dict[int, datetime] = {}
        self.said: dict[tuple[str, ...], int] = {}  # texts -> how many times said
        zone = until.tzinfo
        if not isinstance(zone, ZoneInfo):
            raise ValueError("the end of the demo history needs a ZoneInfo time zone")
        self.zone = zone

    def plan(self) -> tuple[list[Person], list[Event]]:
        suffixes = self.rng.sample(range(10_000), MEMBER_COUNT)
        sales: list[tuple[str, Event]] = []
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
                self.events.append(Event(self._at(day, EXPIRY_AT), EXPIRE))
            if day.day == 1:
                self.events.append(Event(self._at(day, REVIEW_AT), REVIEW))
        # Drawn last, so adding them left the rest of the plan as it was.
        self._bookings(sales)
        self._feedback(sales)
        return self.people, self._finish()

    # people

    def _person(self, kind: str, phone: str) -> Person:
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
        return Person(
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

    def _visit(self, person: Person, day: date) -> tuple[datetime, str] | None:
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

    def _history(self, index: int, person: Person, b: _Behaviour) -> list[Event]:
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
            self.events.append(Event(self.registered[index], REGISTER, index))
            return []
        registered = visit[0] - timedelta(minutes=rng.randint(2, 8))
        self.registered[index] = registered
        self.events.append(Event(registered, REGISTER, index, visit[1]))
        if not b.gap_days[1]:
            return []
        if b.active_days:
            stop = joined + timedelta(days=rng.randint(*b.active_days))
        else:
            stop = self.today - timedelta(days=rng.randint(*b.stop_ago))
        gap = rng.uniform(*b.gap_days)
        median = rng.randint(*b.median_yuan)
        sales: list[Event] = []
        day = joined
        while day <= stop:
            if visit is not None:
                at, store = visit
                sale = Event(at, SALE, index, store, self._amount_fen(median, b.sigma))
                sales.append(sale)
                self.events.append(sale)
            day += timedelta(days=max(1, round(rng.expovariate(1 / gap))))
            visit = self._visit(person, day)
        self._rewards(index, sales)
        return sales

    def _rewards(self, index: int, sales: list[Event]) -> None:
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
                        Event(sale.at - timedelta(minutes=1), USE, index, sale.store)
                    )
                    coupon_until = None
                elif sale.at >= coupon_until:
                    coupon_until = None  # forgotten; it expired unused
            points += sale.amount_fen // rules.step_fen * rules.points_per_step
            affordable = [r for r in rewards if r.points <= points]
            if coupon_until is None and affordable and rng.random() < 0.25:
                reward = rng.choice(affordable[-2:])
                at = sale.at + timedelta(minutes=rng.randint(1, 5))
                self.events.append(Event(at, REDEEM, index, sale.store, reward=reward.code))
                points -= reward.points
                coupon_until = at + timedelta(days=reward.valid_days)

    def _refunds(self, sales: list[tuple[str, Event]]) -> None:
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
            self.events.append(Event(at, REFUND, sale.person, sale.store, part, sale=sale))

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
    ) -> Event | None:
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
        event = Event(at, BOOK, index, store, slot=slot, party=party, text=note)
        self.events.append(event)
        return event

    def _bookings(self, sales: list[tuple[str, Event]]) -> None:
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
                self.events.append(Event(at, ATTEND, sale.person, sale.store, of=booking))
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
                self.events.append(Event(at, CANCEL, index, store, of=booking))
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
            self.events.append(Event(self._at(day, CLOSE_BOOKINGS_AT), CLOSE_BOOKINGS))

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

    def _feedback(self, sales: list[tuple[str, Event]]) -> None:
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
            sent = Event(
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
                self.events.append(Event(done, ANSWER, sale.person, text=answer, of=sent))
                if rng.random() >= (0.6 if rating <= 2 else 0.3):
                    continue
            later = timedelta(days=rng.randint(1, 4), minutes=rng.randrange(600))
            self.events.append(
                Event(self._daytime(done + later), CLOSE_FEEDBACK, sale.person, of=sent)
            )

    def _finish(self) -> list[Event]:
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


def plan_history(shop: Shop, until: datetime, seed: int = SEED) -> tuple[list[Person], list[Event]]:
    """The whole history ending at ``until`` (shop-local): the same inputs, the same plan."""
    return _Planner(shop, until, seed).plan()
