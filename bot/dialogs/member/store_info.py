"""Store questions: 营业时间, 地址, 电话, "are you open on Sunday", "where is the shop".

The answer is about the store the question names, else the member's home store (the
others a tap away), else, with several stores, the store chosen from buttons. It says
whether the store is open now (until when, or when it opens next), today's hours or those
of the day asked about, holidays ahead, the address, the phone and, where the channel can
show one, a map pin (WeChat gets the shop file's map link in the text instead). Anyone
may ask, member or not. The rules of opening hours are ``core.service.store_hours``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.dialogs.engine.dialogs import Flow, Menu, MenuCommand, Turn
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import Button, ButtonValue, Location, Payload, Reply, Step, buttons
from bot.i18n import N_, format_time, format_weekday, localized
from core.service import store_hours, when
from core.shop import Store

NAME = "store_info"
SHOW = "show"
HOURS, DAY, WEEK, WHERE, PHONE = "hours", "day", "week", "where", "phone"
TOPICS = (HOURS, DAY, WEEK, WHERE, PHONE)
AHEAD_DAYS = 14  # holidays this far ahead are named with today's hours
WEEK_AHEAD_DAYS = 30  # and this far with the week's

WHERE_WORDS: tuple[str, ...] = ("地址", "在哪", "怎么走", "位置", "地图", "导航", "address")
WHERE_WORDS += ("where", "locat", "map", "direction", "get there")
PHONE_WORDS = ("电话", "联系方式", "phone", "call", "contact", "number")
WEEK_WORDS = ("这周", "本周", "每天", "一周", "week", "every day", "each day")

# A question about the weekend is about its Saturday; any other day is read as a booking
# request's day is (core.service.when).
_WEEKEND = re.compile(r"周末|\bweekend\b")
SATURDAY = 5


@dataclass(frozen=True)
class Asked(ButtonValue):
    """What a button asks: about which store, what (a topic), for which day."""

    store: str
    topic: str
    day: date

    def __post_init__(self) -> None:
        if self.topic not in TOPICS:
            raise ValueError(self.topic)


# --- reading the question -----------------------------------------------------------------


def day_named(text: str, today: date) -> date | None:
    """The day a question names (今天, 明天, 周日, "on Sunday", "this weekend"), the next
    one from ``today`` on; None when it names none."""
    if _WEEKEND.search(text.lower()):
        return today + timedelta(days=(SATURDAY - today.weekday()) % 7)
    return when.read(text, today).day


def topic_of(text: str) -> str:
    lowered = text.lower()
    if any(word in lowered for word in WHERE_WORDS):
        return WHERE
    if any(word in lowered for word in PHONE_WORDS):
        return PHONE
    if any(word in lowered for word in WEEK_WORDS):
        return WEEK
    return HOURS


def store_named(stores: list[Store], text: str) -> Store | None:
    """The store a question names (滨江店, 滨江, "riverside"), if one."""
    lowered = text.lower()
    for store in stores:
        names = {store.name, store.name.removesuffix("店"), store.name_en.lower()}
        names |= {store.name_en.lower().removesuffix(" store").removesuffix(" shop")}
        if any(len(name) >= 2 and name in lowered for name in names):
            return store
    return None


# --- what is shown ------------------------------------------------------------------------


def _name(turn: Turn, store: Store) -> str:
    return localized(store.name, store.name_en, turn.locale)


def _clock(turn: Turn, at: datetime) -> str:
    return format_time(at, turn.locale, turn.ctx.zone)


def _hours(turn: Turn, day: store_hours.DayHours) -> str:
    """``10:00–21:00``, or closed; with the holiday's name when it has one."""
    if day.hours is None:
        text = turn._("closed")
    else:
        opens, closes = store_hours.span(day.day, day.hours, turn.ctx.zone)
        text = f"{_clock(turn, opens)}–{_clock(turn, closes)}"
    holiday = localized(day.name, day.name_en or day.name, turn.locale)
    return turn._("{hours} ({holiday})", hours=text, holiday=holiday) if holiday else text


def _when(turn: Turn, at: datetime) -> str:
    """A coming moment, as people say it: today at 10:00, tomorrow at 10:00, 1月7日周三 10:00."""
    day = at.astimezone(turn.ctx.zone).date()
    time = _clock(turn, at)
    today = turn.ctx.today()
    if day == today:
        return turn._("today at {time}", time=time)
    if day == today + timedelta(days=1):
        return turn._("tomorrow at {time}", time=time)
    return turn._("{day} at {time}", day=format_weekday(day, turn.locale), time=time)


def _open_now(turn: Turn, store: Store) -> str:
    ctx = turn.ctx
    now = store_hours.open_now(ctx.shop, store, ctx.now(), ctx.zone)
    if now.open and now.closes_at is not None:
        return turn._("Open now, until {time}.", time=_clock(turn, now.closes_at))
    if now.opens_at is not None:
        return turn._("Closed now; opens {when}.", when=_when(turn, now.opens_at))
    return turn._("Closed now, and not open in the coming weeks.")


def _address(turn: Turn, store: Store) -> str:
    address = localized(store.address, store.address_en or store.address, turn.locale)
    return turn._("Address: {address}", address=address) if address else ""


def _phone(turn: Turn, store: Store) -> str:
    return turn._("Phone: {phone}", phone=store.phone) if store.phone else ""


def _specials(turn: Turn, store: Store, first: date, days: int) -> list[str]:
    ahead = store_hours.special_days(turn.ctx.shop, store, first, days)
    if not ahead:
        return []
    lines = [turn._("Other hours coming up:")]
    lines += [f"{format_weekday(d.day, turn.locale)}: {_hours(turn, d)}" for d in ahead]
    return lines


def _lines(turn: Turn, store: Store, topic: str, day: date) -> list[str]:
    ctx = turn.ctx
    today = ctx.today()
    name = _name(turn, store)
    if topic == WEEK:
        week = store_hours.week(ctx.shop, store, today)
        lines = [turn._("{store}: opening hours", store=name)]
        lines += [f"{format_weekday(d.day, turn.locale)}: {_hours(turn, d)}" for d in week]
        later = today + timedelta(days=len(week))
        return lines + _specials(turn, store, later, WEEK_AHEAD_DAYS - len(week))
    if topic == WHERE:
        link = turn._("Map: {url}", url=store.map_url) if store.map_url else ""
        missing = "" if store.address else turn._("The address is not listed yet.")
        return [name, _address(turn, store), missing, link, _phone(turn, store)]
    if topic == PHONE:
        missing = "" if store.phone else turn._("No phone number is listed for this store.")
        return [name, _phone(turn, store), missing, _address(turn, store), _open_now(turn, store)]
    if topic == DAY and day != today:
        asked = store_hours.hours_on(ctx.shop, store, day)
        text = turn._(
            "{store}, {day}: {hours}",
            store=name,
            day=format_weekday(day, turn.locale),
            hours=_hours(turn, asked),
        )
        return [text, _open_now(turn, store), _address(turn, store)]
    today_hours = store_hours.hours_on(ctx.shop, store, today)
    return [
        name,
        _open_now(turn, store),
        turn._("Today: {hours}", hours=_hours(turn, today_hours)),
        _address(turn, store),
        _phone(turn, store),
        *_specials(turn, store, today + timedelta(days=1), AHEAD_DAYS),
    ]


def _button(turn: Turn, label: str, store: Store, topic: str, day: date) -> Button:
    return Payload(NAME, SHOW, Asked(store.code, topic, day).pack()).button(label)


def _answer(turn: Turn, store: Store, topic: str, day: date) -> Step:
    text = "\n".join(line for line in _lines(turn, store, topic, day) if line)
    today = turn.ctx.today()
    more = [
        _button(turn, turn._("Hours"), store, HOURS, today) if topic != HOURS else None,
        _button(turn, turn._("This week"), store, WEEK, today) if topic != WEEK else None,
        _button(turn, turn._("Address and map"), store, WHERE, today) if topic != WHERE else None,
    ]
    others = [
        _button(turn, _name(turn, other), other, topic, day)
        for other in turn.ctx.shop.stores
        if other.code != store.code
    ]
    pin = store.location if topic == WHERE else None
    location = Location(*pin) if pin else None
    choices = buttons([b for b in more if b is not None], others)
    return Step([Reply(text, choices, location=location)])


def _choice(turn: Turn, topic: str, day: date) -> Step:
    stores = [_button(turn, _name(turn, s), s, topic, day) for s in turn.ctx.shop.stores]
    return Step([Reply(turn._("Which store?"), buttons(stores))])


# --- what a step does ---------------------------------------------------------------------


async def ask(turn: Turn) -> Step:
    shop, text, today = turn.ctx.shop, turn.text, turn.ctx.today()
    day = day_named(text, today)
    topic = topic_of(text)
    if day is not None and topic in (HOURS, WEEK):  # 这周六开门吗: that Saturday
        topic = DAY
    day = day or today
    store = store_named(shop.stores, text)
    if store is None and turn.member is not None and turn.member.home_store:
        store = shop.store(turn.member.home_store)
    if store is None and len(shop.stores) == 1:
        store = shop.stores[0]
    if store is None:
        return _choice(turn, topic, day)
    return _answer(turn, store, topic, day)


async def show(turn: Turn) -> Step:
    """A button's question: its store, topic and day (the day moved on if it has passed)."""
    asked = turn.payload.read(Asked) if turn.payload else None
    store = turn.ctx.shop.store(asked.store) if asked else None
    if asked is None or store is None:
        return _choice(turn, HOURS, turn.ctx.today())
    return _answer(turn, store, asked.topic, max(asked.day, turn.ctx.today()))


flow = Flow(
    name=NAME,
    start=ask,
    steps={SHOW: show},
    stateless=frozenset({SHOW}),
    commands=("/store", "/hours", "/address"),
    intents=(
        Intents(
            zh=(
                "营业时间",
                "营业",
                "几点开门",
                "几点关门",
                "开门",
                "关门",
                "打烊",
                "门店地址",
                "地址",
                "在哪",
                "怎么走",
                "门店电话",
                "联系电话",
                "电话多少",
                "电话是多少",
                "你们电话",
            ),
            en=(
                "opening hours",
                "opening times",
                "business hours",
                "store hours",
                "are you open",
                "you open on",
                "open today",
                "open tomorrow",
                "when do you open",
                "when do you close",
                "what time do you close",
                "what time do you open",
                "where is the shop",
                "where is the store",
                "where are you",
                "address",
                "directions",
                "what is your phone number",
                "your phone number",
                "store phone",
                "shop phone",
                "telephone",
                "call the shop",
            ),
        ),
    ),
    needs_member=False,
    precedence=140,
    menu=Menu(N_("Stores and hours"), order=92),
    command_menu=(MenuCommand("store", N_("Stores: hours, address, phone"), order=95),),
)
FLOWS = (flow,)
