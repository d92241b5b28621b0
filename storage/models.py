"""The schema: SQLAlchemy 2.0 typed models. Changes here need an Alembic migration."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _in_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database; use the injected clock")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL.

    SQLite has no time zone type; values are stored as naive UTC text there, which keeps
    comparisons in SQL correct because every value is written the same way.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _in_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, straight to the text SQLAlchemy's DATETIME writes ("2026-03-15
        12:05:57.105542"), in one C call instead of a dict formatted in Python: a job's
        bulk INSERT converts hundreds of thousands of these."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            return _in_utc(value).isoformat(" ", "microseconds")[:-6]  # without "+00:00"

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    __table__: ClassVar[Table]  # every row class here maps a table (SQLAlchemy says FromClause)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        date: Date(),
    }


class StoreRow(Base):
    """A store, mirrored from the shop file by code (the code never changes)."""

    __tablename__ = "stores"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class MemberRow(Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    birthday: Mapped[date | None]
    birthday_changed_at: Mapped[datetime | None]
    gender: Mapped[str | None] = mapped_column(String(1))
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    home_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    tier: Mapped[str] = mapped_column(String(32))
    registered_at: Mapped[datetime] = mapped_column(index=True)


class MemberTagRow(Base):
    __tablename__ = "member_tags"
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class IdentityRow(Base):
    """Who is talking: a Telegram user id or a WeChat openid; may point to a member."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    last_inbound_at: Mapped[datetime | None]
    # WeChat's reply windows: a message opens 48 hours, a menu click, follow or scan a minute.
    last_message_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime | None]
    # When this chat may get its next push (Telegram: one a second per chat), reserved by
    # whichever dispatcher sends to it (core.pushes.pacing).
    next_push_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class LinkCodeRow(Base):
    """A one-time code that attaches a second channel identity to an existing member."""

    __tablename__ = "link_codes"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_identity_id: Mapped[int | None] = mapped_column(ForeignKey("channel_identities.id"))


class StaffRow(Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    # None once a removed staff member's chat account is forgotten (core.people.erasure).
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identities.id"), unique=True
    )
    role: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(100), default="")
    # The language the staff member reads the chat in (recorded as they write): their
    # pushes (alerts, digests) are worded in it.
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN", server_default="zh_CN")
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]  # kept, not deleted: sales and audit name staff


class StaffInviteRow(Base):
    """A one-time code an owner or manager gives a new colleague to join as staff."""

    __tablename__ = "staff_invites"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_identity_id: Mapped[int | None] = mapped_column(ForeignKey("channel_identities.id"))


class CampaignRow(Base):
    """A message (optionally with a coupon) sent to the members of a segment."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    segment: Mapped[dict[str, Any]] = mapped_column(default=dict)  # core.insights.segments.Segment
    message: Mapped[str] = mapped_column(Text)
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id"))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    reached: Mapped[int] = mapped_column(Integer, default=0)  # members sent a message (A or B)
    # Measured campaigns: a second message (B) and the share kept aside as the holdout.
    message_b: Mapped[str | None] = mapped_column(Text)
    holdout_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The weekly digest line whose members the campaign went to (instead of a segment).
    digest_item_id: Mapped[int | None] = mapped_column(ForeignKey("digest_items.id"))


class CampaignMemberRow(Base):
    """Who a campaign reached (and the coupon it gave them), to measure who came back."""

    __tablename__ = "campaign_members"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True, index=True)
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))
    # The group the member was drawn into, once: "a", "b", or "holdout" (sent nothing).
    variant: Mapped[str] = mapped_column(String(8), default="a", server_default="a")
    # When the member's message was given up (skipped, failed): not reached after all, and
    # the coupon taken back (core.pushes.gifts).
    given_up_at: Mapped[datetime | None]


class DigestRow(Base):
    """A staff member's weekly digest (core.insights.digests), one per week: kept so that its
    buttons still start their actions days later."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("staff_id", "week"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    week: Mapped[date]  # the Monday of the week it was made in (shop-local)
    first_day: Mapped[date]  # the shop-local days it covers, both included
    last_day: Mapped[date]
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))  # None: all stores
    created_at: Mapped[datetime]


class DigestItemRow(Base):
    """One line of a digest: a count, and the members counted (a win-back campaign from the
    line goes to exactly them)."""

    __tablename__ = "digest_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    tier: Mapped[str | None] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)
    members: Mapped[list[Any]] = mapped_column(default=list)  # member ids, ascending
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AlertRow(Base):
    """Something unusual staff did, for the owner to approve or reject."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, approved, rejected
    created_at: Mapped[datetime] = mapped_column(index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None]


LIVE_SALE = "undone_at IS NULL"


class SaleRow(Base):
    """A purchase. Its receipt number is unique in its store among sales not undone: a
    clerk's slip taken back with Undo never happened, and its number can be entered again.
    ``entry_key`` is the chat conversation that entered it, so a double tap records once."""

    __tablename__ = "sales"
    __table_args__ = (
        Index(
            "uq_sales_store_receipt_live",
            "store_id",
            "receipt_no",
            unique=True,
            sqlite_where=text(LIVE_SALE),
            postgresql_where=text(LIVE_SALE),
        ),
        Index("ix_sales_member_sold", "member_id", "sold_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    receipt_no: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    amount_fen: Mapped[int] = mapped_column(Integer)
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)
    points_earned: Mapped[int] = mapped_column(Integer, default=0)
    points_reversed: Mapped[int] = mapped_column(Integer, default=0)
    sold_at: Mapped[datetime]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    undone_at: Mapped[datetime | None]
    entry_key: Mapped[str | None] = mapped_column(String(32), unique=True)


class ReceiptCounterRow(Base):
    """The last receipt number given to a chat sale in a store on a shop day: taken with
    the sale, in its transaction, so numbers are unique and follow each other."""

    __tablename__ = "receipt_counters"
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class RefundRow(Base):
    __tablename__ = "refunds"
    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    points_reversed: Mapped[int] = mapped_column(Integer)
    shortfall: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class LedgerRow(Base):
    """Append-only points ledger. Earning rows (and positive adjustments) are *lots*:
    they carry an expiry and the points still left in them, which spending consumes
    oldest-first. ``remaining`` is the only column ever updated after insert."""

    __tablename__ = "points_ledger"
    __table_args__ = (Index("ix_points_ledger_lots", "member_id", "remaining", "expires_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    remaining: Mapped[int | None] = mapped_column(Integer)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("points_ledger.id"))
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))
    shortfall: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class MigratedBalanceRow(Base):
    """A member's balance, tier and spending brought from the shop's old system
    (``core.ledger.moving_in``): once per member. ``digest`` is of the figures the file
    gave, so the same file again changes nothing and a different one is refused. The
    points are ``migrated`` lots in the ledger; the lifetime spend is an opening figure,
    never a sale."""

    __tablename__ = "migrated_balances"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    points: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str | None] = mapped_column(String(32))
    lifetime_spend_fen: Mapped[int | None] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    moved_at: Mapped[datetime]


class TierChangeRow(Base):
    __tablename__ = "tier_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    from_tier: Mapped[str] = mapped_column(String(32))
    to_tier: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(16))
    spend_fen: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"))  # the upgrading sale


class RewardRow(Base):
    """A reward of the catalogue, mirrored from the shop file by code."""

    __tablename__ = "rewards"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    points: Mapped[int] = mapped_column(Integer)
    coupon_value_fen: Mapped[int] = mapped_column(Integer)
    valid_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CouponRow(Base):
    __tablename__ = "coupons"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    value_fen: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    used_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class ProductRow(Base):
    """A product of the catalogue, from the shop file (``source`` "shop", mirrored by code
    like rewards) or from ``memberbot products import`` ("import"). Never deleted: sale
    lines point at it; a product taken off the catalogue is inactive."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32), index=True)
    price_fen: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8), default="shop")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SaleLineRow(Base):
    """What a sale was made of: a product, how many, and what was paid for them."""

    __tablename__ = "sale_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)


class RewardStockRow(Base):
    """A goods reward (商品兑换): the product handed over and how many pieces it has in all.
    ``taken`` is changed only by a conditional UPDATE (``taken < stock``), so stock never
    goes below zero, also when members redeem the last piece at the same moment."""

    __tablename__ = "reward_stock"
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    stock: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)


class InviteCodeRow(Base):
    """A member's own invite code (老带新), made once and never changed."""

    __tablename__ = "invite_codes"
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime]


class ReferralRow(Base):
    """Who brought whom. ``phone_digest`` (of the new member's phone) is unique, so one
    phone is referred once, even after its member deleted themselves and came back;
    ``rewarded_at`` is set once, by a conditional UPDATE, on the first purchase."""

    __tablename__ = "referrals"
    id: Mapped[int] = mapped_column(primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    phone_digest: Mapped[str] = mapped_column(String(64), unique=True)
    via: Mapped[str] = mapped_column(String(8))  # link (Telegram), qr (WeChat), code (typed)
    created_at: Mapped[datetime]
    rewarded_at: Mapped[datetime | None]
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"))
    referrer_points: Mapped[int] = mapped_column(Integer, default=0)
    welcome_points: Mapped[int] = mapped_column(Integer, default=0)


class ConversationRow(Base):
    """Where a multi-step chat flow stands, so a restart or another worker continues it."""

    __tablename__ = "conversations"
    identity_id: Mapped[int] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class ChoicesRow(Base):
    """The buttons of the last message sent to a chat account that shows them as numbered
    choices (WeChat): a typed number or a tapped menu link resolves through this."""

    __tablename__ = "reply_choices"
    identity_id: Mapped[int] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="CASCADE"), primary_key=True
    )
    choices: Mapped[list[Any]] = mapped_column(default=list)  # [[label, payload], ...]
    updated_at: Mapped[datetime]


class DeliveryRow(Base):
    """An update received from a platform, by the platform's own id (WeChat MsgId, Telegram
    update_id): a redelivery is answered from here instead of being processed again."""

    __tablename__ = "inbound_deliveries"
    __table_args__ = (UniqueConstraint("channel", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # processing, answered, late
    reply: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)
    # The worker processing it (``storage.workers``): taken over once that one is gone.
    worker_id: Mapped[int | None]


class WorkerRow(Base):
    """A running memberbot process that claims work (inbound messages, pushes), with the
    lease it renews while it lives (``storage.workers``). Ids are never reused: a claim
    names its worker for good."""

    __tablename__ = "workers"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(128))  # the machine (and its process namespace)
    pid: Mapped[int]
    started_at: Mapped[datetime]
    alive_until: Mapped[datetime] = mapped_column(index=True)


class ButtonRow(Base):
    """A button payload kept under a key derived from it, for a channel whose buttons carry
    too little (Telegram: 64 bytes; a WeChat link: a number); buttons in old messages keep
    working, each meaning its own choice."""

    __tablename__ = "button_payloads"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ApiTokenRow(Base):
    """A platform access token (WeChat's access_token), shared by every process."""

    __tablename__ = "api_tokens"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]


class OutboxRow(Base):
    """One message to push; the dedup key makes enqueueing idempotent.

    ``status``: pending → sending (claimed by ``worker_id``, whose rows are taken up again
    once that dispatcher is gone) → sent, or failed / skipped with the reason in
    ``last_error``; waiting = for the member's next message (WeChat's window).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_identity_sent", "identity_id", "sent_at"),
        # A webhook's deliveries go in order per member (core.pushes.work_queue's claim).
        Index("ix_outbox_webhook_order", "webhook_id", "about_member_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # To a member, (alerts) to a staff member, or (an event) to another system's webhook:
    # exactly one of the three.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id"))
    # A webhook event's member (none for a ping): their events go out one after another.
    about_member_id: Mapped[int | None]
    channel: Mapped[str | None] = mapped_column(String(16))
    # Where it went: the chat account, and how (telegram, wechat_cs, wechat_template, console).
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("channel_identities.id"))
    via: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedup_key: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    worker_id: Mapped[int | None]  # the dispatcher sending it (``storage.workers``)


class WebhookRow(Base):
    """Another system's endpoint (a till, a CRM) told of events (core.integrations.webhooks).
    The secret signs every delivery, so it is kept as it was given (a digest could not
    sign); it is shown once, when the endpoint is added, and never logged."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    events: Mapped[list[Any]] = mapped_column(default=list)  # event types, sorted
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))  # None: every store
    secret: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class PacingRow(Base):
    """A channel's sending pace, shared by every dispatcher of the deployment (core.pushes.pacing):
    the next free send slot, and after a 429 the pause asked for and the slower minute."""

    __tablename__ = "push_pacing"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_at: Mapped[datetime]
    paused_until: Mapped[datetime | None]
    slow_until: Mapped[datetime | None]


class ServiceMessageRow(Base):
    """A WeChat customer-service message sent, by a push or a conversation: WeChat takes a
    few per reply window (``storage.service_messages``); kept for two days."""

    __tablename__ = "service_messages"
    __table_args__ = (Index("ix_service_messages_identity_sent", "identity_id", "sent_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identities.id"))
    sent_at: Mapped[datetime] = mapped_column(index=True)


class AuditRow(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SlotRow(Base):
    """Places taken in one booking slot of a store. The count is changed only by a
    conditional UPDATE (``booked + n <= capacity``), so a slot is never overbooked, also
    when many members take the last place at once, on SQLite as on PostgreSQL."""

    __tablename__ = "booking_slots"
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(primary_key=True)
    booked: Mapped[int] = mapped_column(Integer, default=0)


class BookingRow(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        # One active booking per member per slot.
        Index(
            "uq_bookings_active",
            "member_id",
            "store_id",
            "starts_at",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
        Index("ix_bookings_store_day", "store_id", "starts_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    starts_at: Mapped[datetime]
    party_size: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="booked")
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    marked_at: Mapped[datetime | None]
    marked_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class FeedbackRow(Base):
    """A member's rating and words, stored exactly as typed (escaped where shown)."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_status", "status", "urgent", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"))
    rating: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    closed_at: Mapped[datetime | None]


class HandoffRow(Base):
    """A member's chat with the shop's staff (core.service.handoff): open until a staff
    member or the member closes it; at most one open per member."""

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_status", "status", "opened_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))  # None: every store
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))  # an actor: "member:3", "staff:2"


class HandoffMessageRow(Base):
    """One message of a handoff, as typed: the member's ("member") or a staff answer."""

    __tablename__ = "handoff_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"), index=True)
    author: Mapped[str] = mapped_column(String(16))  # "member" or "staff"
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class EventRow(Base):
    """A members-only event, made by staff in chat or mirrored from the shop file (by
    ``code``). ``joined`` counts the places taken and is changed only by a conditional
    UPDATE (``joined < capacity``), like a booking slot's counter, so an event is never
    overbooked, also when many members take the last place at once."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_starts_at", "starts_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)  # None: made in chat
    title: Mapped[str] = mapped_column(String(100))
    title_en: Mapped[str] = mapped_column(String(100))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))  # None: every store
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int] = mapped_column(Integer)
    joined: Mapped[int] = mapped_column(Integer, default=0)
    min_tier: Mapped[str | None] = mapped_column(String(32))  # None: every tier
    stages: Mapped[list[Any]] = mapped_column(default=list)  # core.insights.segments.Stage values
    points: Mapped[int] = mapped_column(Integer, default=0)  # the price of a sign-up
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]


class EventSignupRow(Base):
    """A member's place at an event: joined → attended / no_show (staff), or cancelled.
    ``ledger_id`` is the points it cost, given back when it is cancelled."""

    __tablename__ = "event_signups"
    __table_args__ = (
        # One place per member per event (a cancelled one does not count).
        Index(
            "uq_event_signups_active",
            "event_id",
            "member_id",
            unique=True,
            sqlite_where=text("status != 'cancelled'"),
            postgresql_where=text("status != 'cancelled'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="joined")
    points: Mapped[int] = mapped_column(Integer, default=0)
    ledger_id: Mapped[int | None] = mapped_column(ForeignKey("points_ledger.id"))
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    marked_at: Mapped[datetime | None]
    marked_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class CheckinRow(Base):
    """A member's daily check-in on one shop day; the primary key makes it once a day, also
    when two arrive at the same moment. ``points`` is what it gave (after the monthly cap),
    ``bonus`` the streak bonus included in them."""

    __tablename__ = "checkins"
    __table_args__ = (Index("ix_checkins_day", "day"),)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    streak: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer, default=0)
    bonus: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class ApiKeyRow(Base):
    """A till's (or another system's) key to the HTTP API (core.integrations.api_keys): only
    its SHA-256 is kept, and its first characters (``prefix``) to name it in lists. Without
    a store it may act for every store."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ApiAnswerRow(Base):
    """The first answer to a request that must happen once (core.integrations.once): a
    till's retry (the same ``scope``: its Idempotency-Key, or the sale's store and receipt)
    gets it again; ``fingerprint`` tells a retry from another request reusing the scope."""

    __tablename__ = "api_answers"
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(320), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    answer: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)
