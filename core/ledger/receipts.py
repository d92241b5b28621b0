"""Receipt numbers of sales entered in chat without one: short enough to read out and type
at the counter, unique in their store, numbered by the shop's day — ``C-261206-007`` is the
seventh such sale of 6 December 2026 in that store."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, select

from core.context import Context
from core.errors import InvalidInput
from storage.db import dialect_of
from storage.models import ReceiptCounterRow, SaleRow
from storage.session import Session

RECEIPT_MAX = 64
PREFIX = "C"
_CHAT_RECEIPT = re.compile(rf"^{PREFIX}-\d{{6}}-\d{{3,}}$", re.IGNORECASE)


def chat_receipt(day: date, number: int) -> str:
    return f"{PREFIX}-{day:%y%m%d}-{number:03d}"


def check(receipt_no: str) -> str:
    """A receipt number as staff type it: trimmed, at most ``RECEIPT_MAX`` characters, and a
    chat number in any case (``c-261206-007`` is ``C-261206-007``); a till's numbers are
    kept as they are."""
    receipt_no = receipt_no.strip()
    if not receipt_no or len(receipt_no) > RECEIPT_MAX:
        raise InvalidInput(field="receipt_no", max=RECEIPT_MAX)
    return receipt_no.upper() if _CHAT_RECEIPT.match(receipt_no) else receipt_no


def live(
    store_id: int | ColumnElement[Any] | None, receipt_no: str | ColumnElement[Any]
) -> ColumnElement[bool]:
    """The sale a receipt number means: the one not undone (an undone one's number is free).
    Values, or bind parameters for a statement built once."""
    return and_(
        SaleRow.store_id == store_id, SaleRow.receipt_no == receipt_no, SaleRow.undone_at.is_(None)
    )


async def allocate(s: Session, ctx: Context, store_id: int) -> str:
    """The store's next chat receipt number of the shop's day, inside the sale's transaction:
    the counter row stays locked until the sale commits (or rolls back, giving the number
    back), so two sales never get the same one. A number typed by hand for another sale is
    skipped."""
    day = ctx.now().astimezone(ctx.zone).date()
    insert = dialect_of(s).insert(ReceiptCounterRow).values(store_id=store_id, day=day, last=1)
    bump = insert.on_conflict_do_update(
        index_elements=[ReceiptCounterRow.store_id, ReceiptCounterRow.day],
        set_={"last": ReceiptCounterRow.last + 1},
    ).returning(ReceiptCounterRow.last)
    while True:
        receipt_no = chat_receipt(day, (await s.execute(bump)).scalar_one())
        taken = await s.scalar(
            select(SaleRow.id).where(SaleRow.store_id == store_id, SaleRow.receipt_no == receipt_no)
        )
        if taken is None:
            return receipt_no
