"""50 concurrent writers on the database for 10 seconds — 40 members chatting (points,
rewards, redeeming, feedback) and 10 clerks recording sales in chat — while a second
process (``memberbot chat``, a clerk at the till) records sales too, so the writers also
meet SQLite's lock held by another process; and no error ever reaches a person: no
"something went wrong", no exception, no "database is locked"; and the books add up."""

from __future__ import annotations

import asyncio
import itertools

from sqlalchemy import func, select

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Reply
from bot.error_texts import ERROR_TEXTS
from bot.i18n import gettext
from core import loyalty
from core.context import Context
from core.people.registration import register_member
from core.people.staff import add_staff
from storage.models import CouponRow, LedgerRow, SaleRow
from tests.dialogs.conftest import say
from tests.test_end_to_end import MEMBERBOT, process_env

WRITERS_MEMBERS, WRITERS_CLERKS, SECONDS = 40, 10, 10.0
GENERIC = {gettext(locale, ERROR_TEXTS["error"]) for locale in ("zh_CN", "en")}
PROMPT = b"\n> "  # memberbot chat's, after each answer


def no_error(text: str) -> None:
    assert not any(error in text for error in GENERIC), text
    assert "locked" not in text, text


def answered(replies: list[Reply]) -> str:
    assert replies
    text = "\n".join(reply.text for reply in replies)
    no_error(text)
    return text


def button(replies: list[Reply], label: str | None = None) -> str | None:
    """The payload of the first button (or of the one labelled ``label``), if any."""
    shown = (b for reply in replies for b in reply.choices if label in (None, b.label))
    return next((b.payload for b in shown), None)


async def test_fifty_writers_for_ten_seconds_see_no_error(ctx: Context, dialogs: Dialogs) -> None:
    phones = []
    for n in range(WRITERS_MEMBERS):
        member = await register_member(
            ctx,
            name=f"会员{n}",
            phone=f"1390000{n:04d}",
            channel="console",
            external_id=f"m{n}",
        )
        await loyalty.record_sale(
            ctx, store="main", receipt_no=f"START-{n}", member_id=member.id, amount_fen=500_000
        )
        phones.append(member.phone)
    for n in range(WRITERS_CLERKS):
        await add_staff(ctx, channel="console", external_id=f"c{n}", role="clerk", store="main")
    await add_staff(ctx, channel="console", external_id="till", role="clerk", store="main")
    till = await asyncio.create_subprocess_exec(
        MEMBERBOT,
        "chat",
        "--user",
        "till",
        env=process_env(ctx),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert till.stdin is not None and till.stdout is not None
    output = [await till.stdout.readuntil(PROMPT)]  # started: its answer to /start
    receipts = itertools.count()
    recorded = redeemed = 0
    deadline = asyncio.get_running_loop().time() + SECONDS
    confirm = gettext("zh_CN", "Confirm")
    coupon_given = gettext("zh_CN", "Done! Your coupon code: {code}", code="")

    async def member(n: int) -> None:
        nonlocal redeemed
        while asyncio.get_running_loop().time() < deadline:
            answered(await say(dialogs, "积分", user=f"m{n}"))
            catalogue = await say(dialogs, "/rewards", user=f"m{n}")
            answered(catalogue)
            reward = await say(dialogs, payload=button(catalogue), user=f"m{n}")
            answered(reward)
            if (yes := button(reward, confirm)) is not None:
                done = answered(await say(dialogs, payload=yes, user=f"m{n}"))
                redeemed += coupon_given in done
            for text in ("/coupons", "/feedback", "5", "很好"):
                answered(await say(dialogs, text, user=f"m{n}"))

    async def clerk(n: int) -> None:
        nonlocal recorded
        while asyncio.get_running_loop().time() < deadline:
            phone = phones[next(receipts) % len(phones)]
            answered(await say(dialogs, f"/sale {phone} 12.5 C-{next(receipts)}", user=f"c{n}"))
            recorded += 1

    async def at_the_till() -> int:
        """Sales typed into the other process, one answer at a time, until the deadline."""
        sent = 0
        while asyncio.get_running_loop().time() < deadline:
            till.stdin.write(f"/sale {phones[sent % len(phones)]} 8 P-{sent}\n".encode())
            output.append(await till.stdout.readuntil(PROMPT))
            sent += 1
        till.stdin.close()
        output.append(await till.stdout.read())
        return sent

    *_, typed = await asyncio.gather(
        *(member(n) for n in range(WRITERS_MEMBERS)),
        *(clerk(n) for n in range(WRITERS_CLERKS)),
        at_the_till(),
    )
    assert await till.wait() == 0
    no_error(b"".join(output).decode())

    async with ctx.db.read() as s:
        sales = await s.scalar(
            select(func.count()).select_from(SaleRow).where(SaleRow.receipt_no.like("C-%"))
        )
        at_till = await s.scalar(
            select(func.count()).select_from(SaleRow).where(SaleRow.receipt_no.like("P-%"))
        )
        negative = await s.scalar(
            select(func.count()).select_from(LedgerRow).where(LedgerRow.remaining < 0)
        )
        coupons = await s.scalar(select(func.count()).select_from(CouponRow))
    assert recorded > 0 and typed > 0
    assert sales == recorded  # every sale a clerk saw recorded is in the books, once
    assert at_till == typed  # and every one typed in the other process
    assert coupons == redeemed > 0
    assert negative == 0
