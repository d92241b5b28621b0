"""Members: validation, the once-only birthday change, look-up and linking chat accounts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core import audit, loyalty
from core.clock import FixedClock
from core.context import Context
from core.errors import (
    BirthdayLocked,
    IdentityTaken,
    InvalidBirthday,
    InvalidInput,
    InvalidPhone,
    LinkCodeInvalid,
    PhoneTaken,
)
from core.ledger.coupons import redeem_reward
from core.people.conversations import arrive, load_conversation, save_conversation
from core.people.erasure import delete_member
from core.people.members import (
    DELETED_NAME,
    create_link_code,
    find_members,
    link_identity,
    mask_phone,
    member_for_identity,
    normalize_phone,
    update_member,
)
from core.people.registration import register_member
from core.service.feedback import submit_feedback
from storage.models import (
    AuditRow,
    CouponRow,
    FeedbackRow,
    MemberRow,
    MemberTagRow,
    OutboxRow,
    SaleRow,
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("１３８００１３８０００", "+8613800138000"),  # full-width, as a Chinese input method types
        ("138０0１38000", "+8613800138000"),  # some digits full-width
        ("＋８６ １３８－００１３－８０００", "+8613800138000"),
        ("١٣٨٠٠١٣٨٠٠٠", "+8613800138000"),  # Arabic-Indic digits
    ],
)
def test_phone_numbers_are_normalised(typed: str, stored: str) -> None:
    assert normalize_phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "+86 12800138000", "phone", "1380013800", ""])
def test_bad_phone_numbers_are_refused(typed: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(typed)


def test_masked_phone_hides_the_middle() -> None:
    assert mask_phone("+8613800138000") == "+86138****8000"


async def test_registration_links_the_chat_account(ctx: Context) -> None:
    member = await register_member(
        ctx,
        name="  李 雷 ",
        phone="13800138000",
        birthday="1990/05/01",
        channel="telegram",
        external_id="42",
        locale="en",
        home_store="main",
    )
    assert (member.name, member.phone, member.birthday) == (
        "李 雷",
        "+8613800138000",
        date(1990, 5, 1),
    )
    assert (member.tier, member.home_store, member.member_no) == ("member", "main", "M000001")
    found = await member_for_identity(ctx, "telegram", "42")
    assert found is not None and found.id == member.id
    assert await member_for_identity(ctx, "telegram", "43") is None

    with pytest.raises(PhoneTaken):
        await register_member(ctx, name="Someone", phone="+86 138 0013 8000")
    with pytest.raises(InvalidInput):  # a name that shows as nothing
        await register_member(ctx, name="\u200b\u200b", phone="13900139001")
    with pytest.raises(InvalidInput):  # a terminal escape, a NUL
        await register_member(ctx, name="Bad\x1b[2J\x00name", phone="13900139001")
    with pytest.raises(PhoneTaken):  # the same phone, partly in full-width digits
        await register_member(ctx, name="Someone", phone="13８0013８000")
    with pytest.raises(IdentityTaken):
        await register_member(
            ctx, name="Again", phone="13900139000", channel="telegram", external_id="42"
        )


async def test_birthday_in_the_future_is_refused(ctx: Context) -> None:
    tomorrow = ctx.today() + timedelta(days=1)
    with pytest.raises(InvalidBirthday):
        await register_member(ctx, name="A", phone="13800138000", birthday=tomorrow)
    with pytest.raises(InvalidBirthday):
        await register_member(ctx, name="A", phone="13800138000", birthday="1990-02-30")


async def test_birthday_can_be_changed_once(ctx: Context) -> None:
    member = await register_member(ctx, name="A", phone="13800138000", birthday="1990-01-01")
    changed = await update_member(ctx, member.id, actor="member", birthday="1990-01-10")
    assert changed.birthday == date(1990, 1, 10)
    with pytest.raises(BirthdayLocked):
        await update_member(ctx, member.id, actor="member", birthday="1990-03-01")
    # The same date again is no change; staff may still correct it.
    await update_member(ctx, member.id, actor="member", birthday="1990-01-10")
    fixed = await update_member(
        ctx, member.id, actor="staff:1", birthday="1990-03-01", staff_override=True
    )
    assert fixed.birthday == date(1990, 3, 1)


async def test_staff_find_members_by_phone_number_or_name(ctx: Context) -> None:
    a = await register_member(ctx, name="Wang Fang", phone="13800138000")
    b = await register_member(ctx, name="Zhang 100%", phone="13900139000")
    assert [m.id for m in await find_members(ctx, "138 0013 8000")] == [a.id]
    assert [m.id for m in await find_members(ctx, b.member_no)] == [b.id]
    assert [m.id for m in await find_members(ctx, "fang")] == [a.id]
    assert [m.id for m in await find_members(ctx, "100%")] == [b.id]
    assert [m.id for m in await find_members(ctx, "%")] == [b.id]  # literal, not a wildcard
    assert await find_members(ctx, "nobody") == []


async def test_link_code_attaches_a_second_channel_once(ctx: Context, clock: FixedClock) -> None:
    member = await register_member(
        ctx, name="A", phone="13800138000", channel="wechat", external_id="oABC"
    )
    code = await create_link_code(ctx, member.id)
    linked = await link_identity(ctx, code.code.lower(), "telegram", "777")
    assert linked.id == member.id
    assert (await member_for_identity(ctx, "telegram", "777")).id == member.id  # type: ignore[union-attr]
    with pytest.raises(LinkCodeInvalid):
        await link_identity(ctx, code.code, "telegram", "888")

    late = await create_link_code(ctx, member.id)
    clock.advance(timedelta(minutes=16))
    with pytest.raises(LinkCodeInvalid):
        await link_identity(ctx, late.code, "telegram", "999")


async def test_verified_phone_claims_an_imported_member(ctx: Context) -> None:
    imported = await register_member(ctx, name="Imported", phone="13800138000")
    with pytest.raises(PhoneTaken):
        await register_member(
            ctx, name="X", phone="13800138000", channel="telegram", external_id="5"
        )
    claimed = await register_member(
        ctx, name="X", phone="13800138000", channel="telegram", external_id="5", phone_verified=True
    )
    assert claimed.id == imported.id and claimed.name == "Imported"


async def test_deleting_a_member_keeps_sales_but_no_personal_data(ctx: Context) -> None:
    member = await register_member(
        ctx,
        name="韩梅梅",
        phone="13800138000",
        birthday="1991-03-04",
        gender="f",
        tags=["vip"],
        marketing_consent=True,
        channel="telegram",
        external_id="tg-1",
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="R1", member_id=member.id, amount_fen=150_000
    )
    coupon = await redeem_reward(ctx, member.id, "coupon10")
    await submit_feedback(ctx, member.id, 2, "店员王五态度差,我电话 13800138000")
    identity = await arrive(ctx, "telegram", "tg-1")
    await save_conversation(ctx, identity.id, "profile", "view", {"x": 1})
    code = await create_link_code(ctx, member.id)

    await delete_member(ctx, member.id, actor=audit.member_actor(member.id))

    gone = await find_members(ctx, "13800138000")
    assert gone == []
    assert await member_for_identity(ctx, "telegram", "tg-1") is None
    assert await load_conversation(ctx, identity.id) is None
    with pytest.raises(LinkCodeInvalid):
        await link_identity(ctx, code.code, "wechat", "wx-1")
    async with ctx.db.read() as s:
        row = await s.get(MemberRow, member.id)
        assert row is not None
        assert (row.name, row.phone, row.birthday, row.gender) == (DELETED_NAME, None, None, None)
        assert row.marketing_consent is False
        assert list(await s.scalars(select(MemberTagRow))) == []
        sale = await s.scalar(select(SaleRow).where(SaleRow.receipt_no == "R1"))
        assert sale is not None and sale.amount_fen == 150_000 and sale.member_id == member.id
        assert await s.scalar(select(CouponRow).where(CouponRow.code == coupon.code)) is not None
        assert [f.text for f in await s.scalars(select(FeedbackRow))] == [""]
        pending = await s.scalars(select(OutboxRow).where(OutboxRow.status == "pending"))
        assert list(pending) == []
        (deleted,) = await s.scalars(select(AuditRow).where(AuditRow.action == "member.deleted"))
        assert deleted.member_id == member.id and deleted.details == {}


def test_a_phone_number_is_not_read_as_a_member_number() -> None:
    from core.people.members import parse_member_no

    assert parse_member_no("M000042") == 42
    assert parse_member_no("13800138000") is None  # would overflow the id column
