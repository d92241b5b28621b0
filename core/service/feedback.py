"""Feedback: a member's rating and words, routed to staff, answered from chat.

A feedback is about a store, about one of the member's own sales, or about nothing in
particular. It is sorted into a topic by a keyword list shipped as data
(``feedback_keywords.toml``) so owners can see what people talk about, and a low rating
marks it urgent so staff see it first. Texts are stored exactly as typed (only trimmed);
whoever shows them escapes them for their medium.

Lifecycle: ``open`` → ``answered`` (staff may send follow-up answers while it is not
closed; each one goes to the member as its own push) → ``closed``. Closing is idempotent
(a second close, e.g. a double-pressed button, changes nothing); answering a closed
feedback is refused, since the member would get a message about a case staff had ended.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select, update

from core import audit
from core.context import Context
from core.errors import FeedbackClosed, InvalidInput, UnknownFeedback, UnknownMember, UnknownSale
from core.integrations import webhooks
from core.ledger import receipts
from core.people.members import lock_member, store_id
from core.pushes import outbox
from core.text import blank
from storage.models import AuditRow, FeedbackRow, MemberRow, SaleRow, StaffRow, StoreRow
from storage.session import Session

KEYWORDS_FILE = Path(__file__).with_name("feedback_keywords.toml")
OTHER = "other"
CATEGORIES = ("service", "product", "price", "environment", "waiting", OTHER)
RATING_MIN, RATING_MAX = 1, 5
URGENT_MAX_RATING = 2  # 1 or 2 stars: an unhappy customer staff should call back first
TEXT_MAX = 500  # member's text and each staff answer; fits one chat message in any channel
EXCERPT_MAX = 60  # of the member's text, quoted in the answer push (WeChat: 2048 bytes max)
LIMIT_MAX = 200  # rows per list, whatever the caller asks
DUPLICATE_WINDOW = timedelta(minutes=10)

OPEN, ANSWERED, CLOSED = "open", "answered", "closed"


# --- the topic classifier (pure) ----------------------------------------------------------


@dataclass(frozen=True)
class Keywords:
    """Compiled keyword lists; ``priority`` breaks ties, most preferred first."""

    priority: tuple[str, ...]
    zh: dict[str, tuple[str, ...]]
    en: dict[str, tuple[re.Pattern[str], ...]]

    def hits(self, text: str) -> dict[str, int]:
        """How many different keywords of each category occur in ``text``."""
        text = _normalize(text)
        return {
            category: sum(word in text for word in self.zh[category])
            + sum(bool(pattern.search(text)) for pattern in self.en[category])
            for category in self.priority
        }

    def classify(self, text: str) -> str:
        counts = self.hits(text)
        best = max(counts.values(), default=0)
        if best == 0:
            return OTHER
        return next(category for category in self.priority if counts[category] == best)


def _normalize(text: str) -> str:
    # NFKC folds full-width letters (ＣＯＬＤ) to ASCII; casefold ignores case.
    return unicodedata.normalize("NFKC", text).casefold()


def _word_pattern(phrase: str) -> re.Pattern[str]:
    """A whole-word match: not inside a longer ASCII word, but Chinese may touch it."""
    words = _normalize(phrase).split()
    body = r"\s+".join(re.escape(word) for word in words)
    return re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])")


def load_keywords(path: Path = KEYWORDS_FILE) -> Keywords:
    """Read and check a keyword file; a broken file fails loudly at the first use."""
    with path.open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    categories: dict[str, dict[str, list[str]]] = data.get("categories", {})
    expected = set(CATEGORIES) - {OTHER}
    if set(categories) != expected:
        raise ValueError(f"{path.name}: categories must be exactly {sorted(expected)}")
    priority = tuple(data.get("priority", ()))
    if sorted(priority) != sorted(expected):
        raise ValueError(f"{path.name}: priority must name each category once")
    zh: dict[str, tuple[str, ...]] = {}
    en: dict[str, tuple[re.Pattern[str], ...]] = {}
    for name, lists in categories.items():
        words = [*lists.get("zh", []), *lists.get("en", [])]
        if set(lists) - {"zh", "en"} or not all(isinstance(w, str) and w.strip() for w in words):
            raise ValueError(f"{path.name}: categories.{name} needs zh and en lists of words")
        zh[name] = tuple(_normalize(word.strip()) for word in lists.get("zh", []))
        en[name] = tuple(_word_pattern(word) for word in lists.get("en", []))
    return Keywords(priority=priority, zh=zh, en=en)


@cache
def keywords() -> Keywords:
    """The shipped keyword file, read once per process."""
    return load_keywords()


def classify(text: str) -> str:
    """The topic of a feedback text: one of CATEGORIES ("other" when nothing matches)."""
    return keywords().classify(text)


# --- use cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackView:
    id: int
    member_id: int
    member_name: str
    store: str | None
    receipt_no: str | None
    rating: int
    text: str
    category: str
    urgent: bool
    status: str
    created_at: datetime
    answer: str | None
    answered_at: datetime | None
    closed_at: datetime | None


def _check_rating(rating: int) -> int:
    if (
        not isinstance(rating, int)
        or isinstance(rating, bool)
        or not RATING_MIN <= rating <= RATING_MAX
    ):
        raise InvalidInput(field="rating", value=rating, min=RATING_MIN, max=RATING_MAX)
    return rating


def _check_text(text: str, field: str) -> str:
    """Trimmed, 1..TEXT_MAX characters, otherwise untouched (no escaping here). NUL is
    refused: PostgreSQL cannot store it and no person types it."""
    if not isinstance(text, str):
        raise InvalidInput(field=field, max=TEXT_MAX)
    text = text.strip()
    if blank(text) or len(text) > TEXT_MAX or "\x00" in text:
        raise InvalidInput(field=field, max=TEXT_MAX)
    return text


def _check_limit(limit: int) -> int:
    """Page sizes come from code, not from people: a bad one is a bug; big ones are capped."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit must be a positive int, not {limit!r}")
    return min(limit, LIMIT_MAX)


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_MAX else text[: EXCERPT_MAX - 1] + "…"


def _view_query() -> Select[FeedbackRow, str, str | None, str | None]:
    return (
        select(FeedbackRow, MemberRow.name, StoreRow.code, SaleRow.receipt_no)
        .join(MemberRow, MemberRow.id == FeedbackRow.member_id)
        .outerjoin(StoreRow, StoreRow.id == FeedbackRow.store_id)
        .outerjoin(SaleRow, SaleRow.id == FeedbackRow.sale_id)
    )


def _view(row: FeedbackRow, name: str, store: str | None, receipt_no: str | None) -> FeedbackView:
    return FeedbackView(
        id=row.id,
        member_id=row.member_id,
        member_name=name,
        store=store,
        receipt_no=receipt_no,
        rating=row.rating,
        text=row.text,
        category=row.category,
        urgent=row.urgent,
        status=row.status,
        created_at=row.created_at,
        answer=row.answer,
        answered_at=row.answered_at,
        closed_at=row.closed_at,
    )


async def _load_view(s: Session, feedback_id: int) -> FeedbackView:
    await s.flush()
    found = (await s.execute(_view_query().where(FeedbackRow.id == feedback_id))).one_or_none()
    if found is None:
        raise UnknownFeedback(feedback=feedback_id)
    return _view(*found)


async def _lock_feedback(s: Session, feedback_id: int) -> FeedbackRow:
    """Serialise staff acting on one feedback (two clerks answering at once)."""
    row = await s.scalar(select(FeedbackRow).where(FeedbackRow.id == feedback_id).with_for_update())
    if row is None:
        raise UnknownFeedback(feedback=feedback_id)
    return row


async def _check_staff(s: Session, staff_id: int) -> None:
    if await s.get(StaffRow, staff_id) is None:
        raise InvalidInput(field="staff_id", value=staff_id)


async def submit_feedback(
    ctx: Context,
    member_id: int,
    rating: int,
    text: str,
    *,
    store: str | None = None,
    receipt_no: str | None = None,
) -> FeedbackView:
    """Record a member's rating (1–5) and words, about a store or one of their own sales.

    A sale is named by store code and receipt number; a receipt that is not the member's
    reads as unknown (so nobody learns whose receipts exist). The same feedback sent again
    within DUPLICATE_WINDOW while still open (a retried or double-sent chat message) returns
    the first one instead of opening a second case.
    """
    rating = _check_rating(rating)
    text = _check_text(text, "text")
    if receipt_no is not None:
        receipt_no = receipts.check(receipt_no)
        if store is None:
            raise InvalidInput(field="store")
    now = ctx.now()
    async with ctx.db.transaction() as s:
        sid = await store_id(s, store) if store is not None else None
        await lock_member(s, member_id)
        sale_id = None
        if receipt_no is not None:
            sale_id = await s.scalar(
                select(SaleRow.id).where(
                    receipts.live(sid, receipt_no), SaleRow.member_id == member_id
                )
            )
            if sale_id is None:
                raise UnknownSale(store=store, receipt_no=receipt_no)
        duplicate = await s.scalar(
            select(FeedbackRow.id)
            .where(
                FeedbackRow.member_id == member_id,
                FeedbackRow.status == OPEN,
                FeedbackRow.created_at > now - DUPLICATE_WINDOW,
                FeedbackRow.rating == rating,
                FeedbackRow.text == text,
                FeedbackRow.store_id.is_not_distinct_from(sid),
                FeedbackRow.sale_id.is_not_distinct_from(sale_id),
            )
            .order_by(FeedbackRow.id)
            .limit(1)
        )
        if duplicate is not None:
            return await _load_view(s, duplicate)
        row = FeedbackRow(
            member_id=member_id,
            store_id=sid,
            sale_id=sale_id,
            rating=rating,
            text=text,
            category=classify(text),
            urgent=rating <= URGENT_MAX_RATING,
            status=OPEN,
            created_at=now,
        )
        s.add(row)
        await s.flush()
        audit.record(
            s,
            now,
            audit.member_actor(member_id),
            "feedback.submitted",
            member_id,
            feedback_id=row.id,
            rating=rating,
            category=row.category,
            urgent=row.urgent,
            store=store,
            sale_id=sale_id,
        )
        await webhooks.emit(  # no words: they may name people (see core.integrations.webhooks)
            s,
            now,
            "feedback.received",
            member_id=member_id,
            store=store,
            data={
                "feedback_id": row.id,
                "rating": rating,
                "category": row.category,
                "urgent": row.urgent,
                "receipt_no": receipt_no,
            },
        )
        return await _load_view(s, row.id)


async def open_feedback(
    ctx: Context, store: str | None = None, limit: int = 20, *, include_answered: bool = False
) -> list[FeedbackView]:
    """Staff's work queue: unanswered feedback, urgent first, then oldest first.

    With ``store`` only that store's feedback; feedback about no store appears only in the
    unfiltered list. ``include_answered`` adds answered cases not yet closed.
    """
    limit = _check_limit(limit)
    statuses = (OPEN, ANSWERED) if include_answered else (OPEN,)
    async with ctx.db.read() as s:
        query = _view_query().where(FeedbackRow.status.in_(statuses))
        if store is not None:
            query = query.where(FeedbackRow.store_id == await store_id(s, store))
        rows = await s.execute(
            query.order_by(FeedbackRow.urgent.desc(), FeedbackRow.created_at, FeedbackRow.id).limit(
                limit
            )
        )
        return [_view(*found) for found in rows]


async def get_feedback(ctx: Context, feedback_id: int) -> FeedbackView:
    async with ctx.db.read() as s:
        return await _load_view(s, feedback_id)


async def _answers_so_far(s: Session, row: FeedbackRow) -> int:
    """Answers already sent for this feedback, counted in the audit log (which keeps every
    answer; the feedback row keeps only the latest)."""
    count = await s.scalar(
        select(func.count())
        .select_from(AuditRow)
        .where(
            AuditRow.member_id == row.member_id,
            AuditRow.action == "feedback.answered",
            AuditRow.details["feedback_id"].as_integer() == row.id,
        )
    )
    return int(count or 0)


async def answer_feedback(
    ctx: Context, feedback_id: int, answer: str, *, staff_id: int, notify: bool = True
) -> FeedbackView:
    """Answer a feedback and queue the answer to the member (a service message, so it goes
    also to members who refused marketing).

    While the feedback is not closed staff may answer again; the latest answer is what the
    member sees in their list, and every answer is pushed once (outbox key
    ``feedback:{id}:{n}``). Sending the same text as the latest answer again (a double
    press, a retried request) changes nothing and pushes nothing. ``notify`` off queues
    no push (historical data); the answer is still counted and recorded.
    """
    answer = _check_text(answer, "answer")
    now = ctx.now()
    async with ctx.db.transaction() as s:
        row = await _lock_feedback(s, feedback_id)
        if row.status == CLOSED:
            raise FeedbackClosed(feedback=feedback_id)
        if row.status == ANSWERED and row.answer == answer:
            return await _load_view(s, feedback_id)
        await _check_staff(s, staff_id)
        number = await _answers_so_far(s, row) + 1
        row.answer, row.answered_at, row.answered_by_staff_id = answer, now, staff_id
        row.status = ANSWERED
        member = await s.get(MemberRow, row.member_id)
        if member is None:  # pragma: no cover - the foreign key forbids it
            raise UnknownMember(member=row.member_id)
        if notify:
            store = await s.scalar(select(StoreRow.code).where(StoreRow.id == row.store_id))
            await outbox.enqueue(
                s,
                now=now,
                member_id=row.member_id,
                marketing_consent=member.marketing_consent,
                kind="feedback_answer",
                dedup_key=f"feedback:{row.id}:{number}",
                params={
                    "feedback_id": row.id,
                    "n": number,
                    "answer": answer,
                    "rating": row.rating,
                    "excerpt": _excerpt(row.text),
                    "store": store,
                },
            )
        audit.record(
            s,
            now,
            audit.staff_actor(staff_id),
            "feedback.answered",
            row.member_id,
            feedback_id=row.id,
            n=number,
            answer=answer,
        )
        return await _load_view(s, feedback_id)


async def close_feedback(ctx: Context, feedback_id: int, *, staff_id: int) -> FeedbackView:
    """Close a feedback, answered or not (e.g. settled at the counter, or spam). Closing
    a closed feedback is a no-op that returns it unchanged (first close time and audit)."""
    now = ctx.now()
    async with ctx.db.transaction() as s:
        row = await _lock_feedback(s, feedback_id)
        if row.status == CLOSED:
            return await _load_view(s, feedback_id)
        await _check_staff(s, staff_id)
        was = row.status
        row.status, row.closed_at = CLOSED, now
        audit.record(
            s,
            now,
            audit.staff_actor(staff_id),
            "feedback.closed",
            row.member_id,
            feedback_id=row.id,
            was=was,
        )
        return await _load_view(s, feedback_id)


async def member_feedback(ctx: Context, member_id: int, limit: int = 20) -> list[FeedbackView]:
    """What a member sent and what staff answered, newest first."""
    limit = _check_limit(limit)
    async with ctx.db.read() as s:
        if await s.get(MemberRow, member_id) is None:
            raise UnknownMember(member=member_id)
        rows = await s.execute(
            _view_query()
            .where(FeedbackRow.member_id == member_id)
            .order_by(FeedbackRow.created_at.desc(), FeedbackRow.id.desc())
            .limit(limit)
        )
        return [_view(*found) for found in rows]


async def erase_member(session: Session, member_id: int) -> list[str]:
    """Erasing a member (``core.people.erasure``): their feedback keeps its rating, category and
    dates, not the words or the answers; returns the words, to find them elsewhere."""
    rows = await session.execute(
        select(FeedbackRow.text, FeedbackRow.answer).where(FeedbackRow.member_id == member_id)
    )
    words = [word for row in rows.all() for word in row if word]
    await session.execute(
        update(FeedbackRow).where(FeedbackRow.member_id == member_id).values(text="", answer=None)
    )
    return words
