"""The shop's rules as the shop file states them (tiers, points, rewards, stores, …): the
schema every rule is checked against, and the look-ups the rules need (a tier by spending,
a reward by code).

Reading the file (defaults, merging, reporting problems) is ``core.shop_file``: it changes
apart from the rules, which grow with every feature.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from core.pushes.outbox import SERVICE_KINDS
from core.shop_model import STRICT, Code

# The stores' part of the schema, named here for the callers of the whole schema.
from core.shop_stores import WEEKDAYS as WEEKDAYS
from core.shop_stores import OpeningHours as OpeningHours
from core.shop_stores import SpecialDay as SpecialDay
from core.shop_stores import Store as Store


class ShopFileError(Exception):
    """The shop file cannot be used; the message names the key and the problem."""


class _Model(BaseModel):
    model_config = STRICT


# Up to ¥10 million: as fen it still fits the database's 32-bit integers.
Yuan = Annotated[Decimal, Field(ge=0, le=10_000_000, decimal_places=2)]


def yuan_to_fen(amount: Decimal) -> int:
    """Money is kept as integer fen; the shop file speaks yuan."""
    return int(amount * 100)


class ShopInfo(_Model):
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")


class PointsRules(_Model):
    step_yuan: Yuan = Field(gt=0)
    points_per_step: int = Field(gt=0)
    lifetime_months: int = Field(gt=0, le=120)

    @property
    def step_fen(self) -> int:
        return yuan_to_fen(self.step_yuan)


class Tier(_Model):
    code: Code
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    spend_yuan: Yuan
    multiplier: Decimal = Field(ge=1, le=10, decimal_places=2)
    perks: str = ""
    perks_en: str = ""

    @field_validator("multiplier", mode="before")
    @classmethod
    def _exact_multiplier(cls, value: Any) -> Any:
        # TOML floats would turn 1.1 into 1.1000000000000000888; read them as written.
        return str(value) if isinstance(value, float) else value

    @property
    def spend_fen(self) -> int:
        return yuan_to_fen(self.spend_yuan)


class TierRules(_Model):
    window_months: int = Field(gt=0, le=60)
    levels: list[Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _rising(self) -> TierRules:
        if self.levels[0].spend_yuan != 0:
            raise ValueError("the first tier must have spend_yuan = 0")
        for lower, higher in zip(self.levels, self.levels[1:], strict=False):
            if higher.spend_yuan <= lower.spend_yuan:
                raise ValueError(
                    f"tier {higher.code!r} must need more spending than {lower.code!r}"
                )
        codes = [t.code for t in self.levels]
        if len(set(codes)) != len(codes):
            raise ValueError("tier codes must be unique")
        return self


class Reward(_Model):
    """A reward of the catalogue: a coupon worth ``coupon_value_yuan``, or with ``goods``
    (a product code) a piece of that product (商品兑换) picked up at the counter with the
    coupon's code, while ``stock`` (the pieces it has in all) lasts."""

    code: Code
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    points: int = Field(gt=0, le=10_000_000)
    coupon_value_yuan: Yuan = Field(default=Decimal(0), ge=0)
    valid_days: int = Field(gt=0, le=3660)
    goods: Code | None = None
    stock: int | None = Field(default=None, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _coupon_or_goods(self) -> Reward:
        if self.goods is None:
            if self.stock is not None:
                raise ValueError("stock is for goods rewards: give goods too")
            if self.coupon_value_yuan <= 0:
                raise ValueError("coupon_value_yuan must be greater than 0")
        elif self.stock is None:
            raise ValueError("a goods reward needs its stock")
        return self

    @property
    def coupon_value_fen(self) -> int:
        return yuan_to_fen(self.coupon_value_yuan)


class Category(_Model):
    """A product category, named in both languages (preference tags, "for you")."""

    code: Code
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)


class Product(_Model):
    """A product of the catalogue; ``memberbot products import`` adds more from CSV."""

    code: Code
    name: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    category: Code
    price_yuan: Yuan | None = None

    @property
    def price_fen(self) -> int | None:
        return None if self.price_yuan is None else yuan_to_fen(self.price_yuan)


class PreferenceRules(_Model):
    """Preference tags and "for you": the ``top_categories`` a member spent most on in the
    last ``window_months``; recommendations skip what they bought in ``recent_days``; RFM
    scores (1–5) from ``high_score`` up are "high", up to ``low_score`` "low"."""

    window_months: int = Field(default=12, gt=0, le=60)
    top_categories: int = Field(default=2, gt=0, le=10)
    recent_days: int = Field(default=90, ge=0, le=3660)
    recommendations: int = Field(default=3, gt=0, le=10)
    high_score: int = Field(default=4, ge=1, le=5)
    low_score: int = Field(default=2, ge=1, le=5)

    @model_validator(mode="after")
    def _ordered(self) -> PreferenceRules:
        if self.low_score >= self.high_score:
            raise ValueError("need low_score < high_score")
        return self


class ReferralRules(_Model):
    """Invites (老带新): the inviter earns ``referrer_points`` and the new member
    ``welcome_points`` when the new member's first purchase of at least
    ``min_purchase_yuan`` is recorded; ``telegram_bot`` (the bot's username) makes links."""

    referrer_points: int = Field(default=100, ge=0, le=1_000_000)
    welcome_points: int = Field(default=0, ge=0, le=1_000_000)
    min_purchase_yuan: Yuan = Decimal(0)
    telegram_bot: str = Field(default="", pattern=r"^([A-Za-z][A-Za-z0-9_]{3,31})?$")

    @property
    def min_purchase_fen(self) -> int:
        return yuan_to_fen(self.min_purchase_yuan)


class BookingRules(_Model):
    horizon_days: int = Field(gt=0, le=365)
    cancel_cutoff_hours: int = Field(ge=0, le=24 * 14)
    max_party: int = Field(gt=0, le=100)
    closed_dates: list[date] = []


class SegmentRules(_Model):
    """Lifecycle thresholds, in days since a member's first or last purchase."""

    new_days: int = Field(gt=0)
    active_days: int = Field(gt=0)
    dormant_days: int = Field(gt=0)
    lost_days: int = Field(gt=0)
    loyal_min_score: int = Field(ge=1, le=5)

    @model_validator(mode="after")
    def _ordered(self) -> SegmentRules:
        if not self.active_days < self.dormant_days < self.lost_days:
            raise ValueError("need active_days < dormant_days < lost_days")
        return self


class StaffRules(_Model):
    """Limits on what staff do in chat, and when the owner is alerted."""

    max_sale_yuan: Yuan = Field(gt=0)
    undo_minutes: int = Field(ge=0, le=60)
    adjust_alert_points: int = Field(gt=0)
    burst_sales: int = Field(ge=2)
    burst_minutes: int = Field(gt=0)
    invite_hours: int = Field(gt=0, le=24 * 14)

    @property
    def max_sale_fen(self) -> int:
        return yuan_to_fen(self.max_sale_yuan)


def _fits(name: str, limit: int) -> str:
    if len(name.encode()) > limit:
        raise ValueError(f"{name!r} is longer than WeChat's {limit} bytes")
    return name


class MenuButton(_Model):
    """A WeChat menu entry: a ``key`` (a memberbot function: a dialog flow's name) or a
    ``url`` to open; a top-level entry may instead hold up to five ``items``."""

    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    key: str | None = Field(default=None, pattern=r"^[a-z_]{1,32}$")
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    items: list[MenuButton] = Field(default=[], max_length=5)

    @model_validator(mode="after")
    def _one_action(self) -> MenuButton:
        actions = [a for a in (self.key, self.url, self.items or None) if a is not None]
        if len(actions) != 1:
            raise ValueError("give exactly one of key, url or items")
        if any(item.items for item in self.items):
            raise ValueError("menu items cannot have items of their own")
        for item in self.items:
            _fits(item.name, 60)
            _fits(item.name_en, 60)
        return self


class WeChatTemplate(_Model):
    """A WeChat template message for one push kind: the template's id in the official
    account, and what to write in each of its fields (``{placeholders}`` are the push's
    values)."""

    id: str = ""
    url: str = ""
    fields: dict[str, str] = {}


class WeChatRules(_Model):
    menu: list[MenuButton] = Field(default=[], max_length=3)
    templates: dict[str, WeChatTemplate] = {}

    @field_validator("menu")
    @classmethod
    def _short_names(cls, menu: list[MenuButton]) -> list[MenuButton]:
        for button in menu:
            _fits(button.name, 16)
            _fits(button.name_en, 16)
        return menu

    @field_validator("templates")
    @classmethod
    def _service_kinds(cls, templates: dict[str, WeChatTemplate]) -> dict[str, WeChatTemplate]:
        # WeChat forbids marketing in template messages: only service pushes may use them.
        unknown = sorted(set(templates) - SERVICE_KINDS)
        if unknown:
            raise ValueError(f"templates are for service messages only, not {', '.join(unknown)}")
        return templates


def _clock_time(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\d{2}:\d{2}", value):
        return time(int(value[:2]), int(value[3:]))
    return value


class PushRules(_Model):
    """How pushes go out: quiet hours for marketing, how long a waiting message stays worth
    sending, the platforms' rate limits and WeChat's reply windows, and retries."""

    quiet_start: time
    quiet_end: time
    fresh_hours: int = Field(gt=0, le=24 * 30)
    telegram_per_second: float = Field(ge=1)
    telegram_chat_seconds: float = Field(ge=0)
    reply_wait_seconds: float = Field(default=10, ge=0, le=60)
    wechat_window_hours: int = Field(gt=0, le=48)
    wechat_window_messages: int = Field(ge=0)
    wechat_event_window_seconds: int = Field(ge=0)
    wechat_event_window_messages: int = Field(ge=0)
    max_attempts: int = Field(gt=0, le=50)
    retry_seconds: int = Field(gt=0)

    _times = field_validator("quiet_start", "quiet_end", mode="before")(_clock_time)

    def is_quiet(self, at: time) -> bool:
        """Inside the quiet hours (which may wrap midnight, as 21:00–09:00 does)."""
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= at < self.quiet_end
        return at >= self.quiet_start or at < self.quiet_end


class BirthdayRules(_Model):
    """The birthday wish: sent on the day (29 February birthdays on the 28th in other years),
    with a gift coupon of the catalogue's ``reward`` ("" = a wish without a coupon)."""

    reward: str = ""


class WinbackRules(_Model):
    """Re-engagement of members who went silent: dormant members get a win-back message with
    a gift coupon of ``reward``, lost members one last try; nobody more than once in
    ``min_days_between`` days. A member who buys within ``came_back_days`` of the message
    counts as won back."""

    reward: str = ""
    min_days_between: int = Field(gt=0)
    came_back_days: int = Field(gt=0)


class CampaignRules(_Model):
    """Measured campaigns (core.insights.campaigns): ``holdout_percent`` of a campaign's members,
    drawn at random, get nothing, so that what the others did can be compared with them;
    a campaign reaching fewer than ``min_members`` goes to all of them with one message
    (groups that small measure nothing). A member who buys within ``came_back_days``
    counts as came back; a point given on those purchases costs ``point_value_yuan``."""

    holdout_percent: int = Field(default=10, ge=0, le=50)
    min_members: int = Field(default=20, ge=2)
    came_back_days: int = Field(default=30, gt=0, le=365)
    point_value_yuan: Yuan = Decimal("0.10")

    @property
    def point_value_fen(self) -> int:
        return yuan_to_fen(self.point_value_yuan)


class DigestRules(_Model):
    """The weekly digest to owners and managers (core.insights.digests): best and worst store by
    repeat rate over the last ``repeat_days`` days."""

    repeat_days: int = Field(default=30, gt=0, le=366)


class ReminderRules(_Model):
    """When reminders go out: bookings the day before (at ``booking_day_before_at``) and
    ``booking_hours_before`` hours before; points ``points_days_before`` days before they
    expire; unused coupons ``coupon_days_before`` days before they expire."""

    booking_day_before_at: time
    booking_hours_before: int = Field(gt=0, le=24)
    points_days_before: list[int] = Field(min_length=0)
    coupon_days_before: int = Field(ge=0)

    _times = field_validator("booking_day_before_at", mode="before")(_clock_time)


# Lifecycle stages an event may be open to (core.insights.segments.Stage, which imports
# this module).
EventStage = Literal["potential", "new", "active", "loyal", "at_risk", "dormant", "lost"]


class ShopEvent(_Model):
    """A members-only event of the shop file, mirrored into the database by its code.
    Times are the shop's wall-clock times (no offset); ``store`` "" is every store."""

    code: Code
    title: str = Field(min_length=1, max_length=100)
    title_en: str = Field(min_length=1, max_length=100)
    store: str = ""
    starts_at: datetime
    ends_at: datetime
    capacity: int = Field(gt=0, le=100_000)
    min_tier: str = ""
    stages: list[EventStage] = []
    points: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _wall_clock(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            raise ValueError("write the shop's local time without an offset, e.g. 2026-12-24T19:00")
        return value

    @model_validator(mode="after")
    def _ends_after_start(self) -> ShopEvent:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class EventRules(_Model):
    """Members-only events: members may cancel a sign-up (and get its points back) until
    ``cancel_cutoff_hours`` before the start; the reminder goes out the day before at
    ``reminder_at``, shop time."""

    cancel_cutoff_hours: int = Field(default=24, ge=0, le=24 * 30)
    reminder_at: time = time(10, 0)

    _times = field_validator("reminder_at", mode="before")(_clock_time)


class CheckinRules(_Model):
    """Daily check-in: ``points`` once per shop day, ``streak_bonus`` more on every
    ``streak_days``-th day in a row, at most ``monthly_cap`` check-in points per calendar
    month (0 = no cap)."""

    enabled: bool = True
    points: int = Field(default=2, ge=0, le=10_000)
    streak_days: int = Field(default=7, ge=0, le=366)
    streak_bonus: int = Field(default=10, ge=0, le=100_000)
    monthly_cap: int = Field(default=60, ge=0, le=1_000_000)


class Shop(_Model):
    """The validated shop file."""

    shop: ShopInfo
    points: PointsRules
    tiers: TierRules
    rewards: list[Reward]
    stores: list[Store] = Field(min_length=1)
    holidays: list[SpecialDay] = []  # every store's; a store's own holidays come first
    bookings: BookingRules
    segments: SegmentRules
    staff: StaffRules
    pushes: PushRules
    birthday: BirthdayRules
    winback: WinbackRules
    reminders: ReminderRules
    campaigns: CampaignRules = CampaignRules()
    digest: DigestRules = DigestRules()
    wechat: WeChatRules = WeChatRules()
    events: list[ShopEvent] = []
    event_rules: EventRules = EventRules()
    checkin: CheckinRules = CheckinRules()
    categories: list[Category] = []
    products: list[Product] = []
    preferences: PreferenceRules = PreferenceRules()
    referrals: ReferralRules = ReferralRules()
    # Phrases members write, by the flow they mean (checked against the flows at start-up).
    intents: dict[str, list[Annotated[str, Field(min_length=1, max_length=200)]]] = {}

    @model_validator(mode="after")
    def _unique_codes(self) -> Shop:
        for name, items in (("rewards", self.rewards), ("stores", self.stores)):
            codes = [i.code for i in items]
            if len(set(codes)) != len(codes):
                raise ValueError(f"{name}: codes must be unique")
        for name, gift in (("birthday", self.birthday.reward), ("winback", self.winback.reward)):
            if gift and self.reward(gift) is None:
                raise ValueError(f"{name}.reward: no reward with the code {gift!r}")
        self._check_events()
        self._check_products()
        return self

    def _check_products(self) -> None:
        for name, items in (("categories", self.categories), ("products", self.products)):
            codes = [i.code for i in items]
            if len(set(codes)) != len(codes):
                raise ValueError(f"{name}: codes must be unique")
        for name, gift in (("birthday", self.birthday.reward), ("winback", self.winback.reward)):
            reward = self.reward(gift) if gift else None
            if reward is not None and reward.goods is not None:
                # A gift coupon takes no stock: goods would be handed over beyond it.
                raise ValueError(f"{name}.reward: {gift!r} is a goods reward; give a coupon")

    def _check_events(self) -> None:
        codes = [e.code for e in self.events]
        if len(set(codes)) != len(codes):
            raise ValueError("events: codes must be unique")
        tiers = {t.code for t in self.tiers.levels}
        for index, event in enumerate(self.events):
            if event.store and self.store(event.store) is None:
                raise ValueError(f"events[{index}].store: no store with the code {event.store!r}")
            if event.min_tier and event.min_tier not in tiers:
                raise ValueError(f"events[{index}].min_tier: no tier {event.min_tier!r}")

    def tier(self, code: str) -> Tier:
        for tier in self.tiers.levels:
            if tier.code == code:
                return tier
        # A tier removed from the shop file: treat its members as the lowest tier.
        return self.tiers.levels[0]

    def tier_for_spend(self, spend_fen: int) -> Tier:
        """The highest tier whose threshold the 12-month spending reaches."""
        reached = self.tiers.levels[0]
        for tier in self.tiers.levels:
            if spend_fen >= tier.spend_fen:
                reached = tier
        return reached

    def tier_rank(self, code: str) -> int:
        return self.tiers.levels.index(self.tier(code))

    def next_tier(self, code: str) -> Tier | None:
        rank = self.tier_rank(code)
        levels = self.tiers.levels
        return levels[rank + 1] if rank + 1 < len(levels) else None

    def reward(self, code: str) -> Reward | None:
        return next((r for r in self.rewards if r.code == code), None)

    def store(self, code: str) -> Store | None:
        return next((s for s in self.stores if s.code == code), None)

    def category(self, code: str) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)
