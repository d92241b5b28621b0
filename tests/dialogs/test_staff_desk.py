"""Staff at the counter, through the dialog layer: /sale, undo, /refund, /use, /member,
/staff and /join — roles checked, every change audited."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs
from bot.i18n import LOCALES, format_money, gettext
from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.ledger import refunds, statement
from core.ledger.coupons import redeem_reward
from core.people.members import MemberView
from core.people.registration import register_member
from core.people.staff import add_staff, list_staff
from storage.models import AuditRow, OutboxRow, SaleRow
from tests import factories
from tests.dialogs.conftest import hinted, press, say


@pytest.fixture
async def member(ctx: Context) -> MemberView:
    return await factories.registered(ctx, name="李雷", phone="13800138000", user="lilei")


@pytest.fixture
async def team(ctx: Context) -> None:
    await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    await add_staff(ctx, channel="console", external_id="mia", role="manager", store="main")
    await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main")


async def audit_actions(ctx: Context) -> list[str]:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(AuditRow.action).order_by(AuditRow.id)))


@pytest.mark.usefixtures("team")
@pytest.mark.parametrize("lang", LOCALES)
async def test_clerk_records_a_sale_by_phone_once(
    ctx: Context, dialogs: Dialogs, member: MemberView, lang: str
) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(lang, message, **params)

    (done,) = await say(dialogs, "/sale 13800138000 238.50 R-1", user="cleo", lang=lang)
    masked = "李雷 (M000001, +86138****8000)"  # clerks see the phone masked
    amount = format_money(23_850, lang)
    assert t("Recorded {amount} for {member}.", amount=amount, member=masked) in done.text
    assert (
        t(
            "+{points} points; balance {balance}; tier {tier}.",
            points=20,
            balance=20,
            tier=("普通" if lang == "zh_CN" else "Member"),
        )
        in done.text
    )
    summary = await statement.points_summary(ctx, member.id)
    assert (summary.balance, summary.tier) == (20, "member")
    async with ctx.db.read() as s:
        (receipt,) = await s.scalars(select(OutboxRow).where(OutboxRow.kind == "receipt"))
    assert (receipt.member_id, receipt.params["amount_fen"]) == (member.id, 23_850)

    (again,) = await say(dialogs, "/sale 13800138000 238.50 R-1", user="cleo", lang=lang)
    assert again.text == t(
        "Receipt {receipt} in {store} is already recorded; nothing was added.",
        receipt="R-1",
        store="旗舰店" if lang == "zh_CN" else "Flagship store",
    )
    assert (await statement.points_summary(ctx, member.id)).balance == 20


@pytest.mark.usefixtures("team")
async def test_guided_sale_with_a_typo_offers_candidates(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    (ask,) = await say(dialogs, "/sale", user="cleo", lang="en")
    assert ask.text == hinted("en", "Which member? Type a phone number, member number or name.")
    (which,) = await say(dialogs, "1380013800", user="cleo", lang="en")  # one digit missing
    assert which.text.startswith("Which member do you mean by")
    (how_much,) = await say(dialogs, payload=which.choices[0].payload, user="cleo", lang="en")
    assert how_much.text == hinted("en", "How much did they spend?")
    (bad,) = await say(dialogs, "100.123", user="cleo", lang="en")
    assert bad.text == hinted("en", "100.123 is not a valid amount.")
    (too_much,) = await say(dialogs, "9999999", user="cleo", lang="en")
    assert too_much.text == hinted("en", "9999999 is not a valid amount.")
    (done,) = await say(dialogs, "100", user="cleo", lang="en")
    assert "Recorded ¥100.00" in done.text or "Recorded CN¥100.00" in done.text
    assert (await statement.points_summary(ctx, member.id)).balance == 10


@pytest.mark.usefixtures("team")
async def test_sale_arguments_a_name_with_spaces_and_an_amount_typed_wrong(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    """``/sale Li Lei 100 R-9`` names Li Lei; an amount typed wrong with the command is
    explained and asked for again, also after a candidate was picked, never repeated."""
    li = await register_member(ctx, name="Li Lei", phone="13700137000")
    (done,) = await say(dialogs, "/sale Li Lei 100 R-9", user="cleo", lang="en")
    assert done.text.startswith("Recorded CN¥100.00 for Li Lei")
    async with ctx.db.read() as s:
        (sale,) = await s.scalars(select(SaleRow).where(SaleRow.member_id == li.id))
    assert (sale.receipt_no, sale.amount_fen) == ("R-9", 10_000)

    (ask,) = await say(dialogs, "/sale 13800138000 1e9", user="cleo", lang="en")
    assert ask.text == hinted("en", "1e9 is not a valid amount.\nHow much did they spend?")
    (done,) = await say(dialogs, "120", user="cleo", lang="en")
    assert done.text.startswith("Recorded CN¥120.00 for 李雷")

    (which,) = await say(dialogs, "/sale 1380013800 abc", user="cleo", lang="en")  # a typo
    assert which.text.startswith("Which member do you mean by")
    (ask,) = await say(dialogs, payload=which.choices[0].payload, user="cleo", lang="en")
    assert ask.text == hinted("en", "abc is not a valid amount.\nHow much did they spend?")
    (done,) = await say(dialogs, "80", user="cleo", lang="en")
    assert done.text.startswith("Recorded CN¥80.00 for 李雷")
    assert (await statement.points_summary(ctx, member.id)).window_spend_fen == 20_000


@pytest.mark.usefixtures("team")
async def test_clerk_undoes_own_last_sale_within_minutes_only(
    ctx: Context, clock: FixedClock, dialogs: Dialogs, member: MemberView
) -> None:
    (done,) = await say(dialogs, "/sale M000001 500 U-1", user="cleo", lang="en")
    undo = press(done, "Undo (within 5 min)")
    (undone,) = await say(dialogs, payload=undo, user="cleo", lang="en")
    assert undone.text.startswith("Undone:")
    assert (await statement.points_summary(ctx, member.id)).balance == 0
    (twice,) = await say(dialogs, payload=undo, user="cleo", lang="en")
    assert twice.text == "This sale can no longer be undone; refund it instead."

    (later,) = await say(dialogs, "/sale M000001 500 U-2", user="cleo", lang="en")
    clock.advance(timedelta(minutes=6))
    (late,) = await say(
        dialogs, payload=press(later, "Undo (within 5 min)"), user="cleo", lang="en"
    )
    assert late.text == "This sale can no longer be undone; refund it instead."
    assert (await statement.points_summary(ctx, member.id)).balance == 50


@pytest.mark.usefixtures("team")
async def test_identical_sales_without_receipt_numbers_each_get_their_number(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    """The same amount for the same member twice in a minute is two genuine sales (it was
    refused as "already recorded"): each gets the store's next number of the day, shown to
    the clerk and on the member's receipt, and a refund finds it however it is typed."""
    other = await register_member(
        ctx, name="韩梅梅", phone="13900139000", channel="console", external_id="hanmeimei"
    )
    (first,) = await say(dialogs, "/sale 13800138000 100", user="cleo", lang="en")
    (second,) = await say(dialogs, "/sale 13900139000 100", user="cleo", lang="en")
    (again,) = await say(dialogs, "/sale 13900139000 100", user="cleo", lang="en")
    assert first.text.startswith("Recorded CN¥100.00 for 李雷")
    assert "Receipt number: C-260105-001" in first.text.splitlines()
    assert second.text.startswith("Recorded CN¥100.00 for 韩梅梅")
    assert "Receipt number: C-260105-002" in second.text.splitlines()
    assert again.text.startswith("Recorded CN¥100.00 for 韩梅梅")
    assert "Receipt number: C-260105-003" in again.text.splitlines()
    assert (await statement.points_summary(ctx, member.id)).balance == 10
    assert (await statement.points_summary(ctx, other.id)).balance == 20
    async with ctx.db.read() as s:
        pushed = list(await s.scalars(select(OutboxRow).where(OutboxRow.kind == "receipt")))
    assert sorted(p.params["receipt_no"] for p in pushed) == [
        "C-260105-001",
        "C-260105-002",
        "C-260105-003",
    ]

    (check,) = await say(dialogs, "/refund c-260105-003", user="mia", lang="en")
    assert check.text.startswith("Refund CN¥100.00 of receipt C-260105-003")
    await say(dialogs, payload=press(check, "Refund"), user="mia", lang="en")
    assert (await statement.points_summary(ctx, other.id)).balance == 10


@pytest.mark.usefixtures("team")
async def test_a_double_tap_records_one_sale(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    """The member's button tapped twice at once (two workers) is one sale: the conversation
    that entered it is its key, not the minute it was entered in."""
    (which,) = await say(dialogs, "/sale 1380013800 100", user="cleo", lang="en")
    tap = which.choices[0].payload
    replies = await asyncio.gather(
        *(say(dialogs, payload=tap, user="cleo", lang="en") for _ in range(2))
    )
    recorded = [r for (r,) in replies if r.text.startswith("Recorded")]
    assert len(recorded) == 1
    assert (await statement.points_summary(ctx, member.id)).balance == 10
    async with ctx.db.read() as s:
        assert len(list(await s.scalars(select(SaleRow)))) == 1


@pytest.mark.usefixtures("team")
async def test_after_undo_the_receipt_is_entered_again_with_the_right_amount(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    (typo,) = await say(dialogs, "/sale 13800138000 500 U-7", user="cleo", lang="en")
    await say(dialogs, payload=press(typo, "Undo (within 5 min)"), user="cleo", lang="en")
    (right,) = await say(dialogs, "/sale 13800138000 50 U-7", user="cleo", lang="en")
    assert right.text.startswith("Recorded CN¥50.00 for 李雷")
    assert "Receipt number: U-7" in right.text.splitlines()
    (check,) = await say(dialogs, "/refund U-7", user="mia", lang="en")
    assert check.text.startswith("Refund CN¥50.00 of receipt U-7")


@pytest.mark.usefixtures("team")
async def test_member_card_marks_refunded_and_undone_sales(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    await say(dialogs, "/sale 13800138000 238 V-1", user="cleo", lang="en")
    await refunds.refund_sale(ctx, store="main", receipt_no="V-1", amount_fen=10_000)
    (slip,) = await say(dialogs, "/sale 13800138000 50", user="cleo", lang="en")
    await say(dialogs, payload=press(slip, "Undo (within 5 min)"), user="cleo", lang="en")
    await say(dialogs, "/sale 13800138000 30", user="cleo", lang="en")

    (card,) = await say(dialogs, "/member 李雷", user="cleo", lang="en")
    lines = card.text.splitlines()
    at = lines.index("Recent sales:")
    assert lines[at + 1 : at + 4] == [
        "  Jan 5, 2026 Flagship store CN¥30.00 C-260105-002",
        "  Jan 5, 2026 Flagship store CN¥50.00 C-260105-001 — undone",
        "  Jan 5, 2026 Flagship store CN¥238.00 V-1 — refunded CN¥100.00",
    ]


@pytest.mark.usefixtures("team")
async def test_undo_takes_back_the_sale_it_was_shown_under(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    """A clerk records a sale for one member, then one for another (or a colleague's
    screen shows the older one): the first sale's Undo takes back the first sale only."""
    other = await register_member(
        ctx, name="韩梅梅", phone="13900139000", channel="console", external_id="hanmeimei"
    )
    (first,) = await say(dialogs, "/sale 13800138000 300 A-1", user="cleo", lang="en")
    (second,) = await say(dialogs, "/sale 13900139000 2000 B-1", user="cleo", lang="en")
    assert press(first, "Undo (within 5 min)") != press(second, "Undo (within 5 min)")

    (undone,) = await say(
        dialogs, payload=press(first, "Undo (within 5 min)"), user="cleo", lang="en"
    )
    assert undone.text.startswith("Undone: CN¥300.00 for 李雷")
    assert (await statement.points_summary(ctx, member.id)).balance == 0
    assert (await statement.points_summary(ctx, other.id)).balance == 200

    # Another clerk's sale is not theirs to undo, whatever the button says.
    await add_staff(ctx, channel="console", external_id="dan", role="clerk", store="main")
    (refused,) = await say(
        dialogs, payload=press(second, "Undo (within 5 min)"), user="dan", lang="en"
    )
    assert refused.text == "Sorry, this is only for managers and the owner."
    assert (await statement.points_summary(ctx, other.id)).balance == 200
    assert (await audit_actions(ctx))[-1] == "staff.refused"


@pytest.mark.usefixtures("team")
async def test_member_and_clerk_are_refused_staff_commands_and_audited(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    (refused,) = await say(dialogs, "/sale 13800138000 100", user="lilei")
    assert refused.text == "抱歉，此功能仅限店员使用。"  # in the member's language
    (refund,) = await say(dialogs, "/refund R-1", user="cleo", lang="en")
    assert refund.text == "Sorry, this is only for managers and the owner."
    assert (await statement.points_summary(ctx, member.id)).balance == 0
    async with ctx.db.read() as s:
        refusals = list(await s.scalars(select(AuditRow).where(AuditRow.action == "staff.refused")))
    assert [(r.actor, r.details["command"]) for r in refusals] == [
        (f"member:{member.id}", "sale"),
        ("staff:3", "refund"),
    ]


@pytest.mark.usefixtures("team")
async def test_manager_refunds_after_confirming_once(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    await loyalty.record_sale(
        ctx, store="main", receipt_no="R-9", member_id=member.id, amount_fen=100_000
    )
    (check,) = await say(dialogs, "/refund R-9 500", user="mia", lang="en")
    assert "Refund ¥500.00" in check.text or "Refund CN¥500.00" in check.text
    yes = press(check, "Refund")
    (done,) = await say(dialogs, payload=yes, user="mia", lang="en")
    (again,) = await say(dialogs, payload=yes, user="mia", lang="en")
    assert done.text.startswith("Refunded")
    assert again.text == "This button is no longer valid; nothing more was done."
    assert (await statement.points_summary(ctx, member.id)).balance == 50
    (unknown,) = await say(dialogs, "/refund NOPE", user="mia", lang="en")
    assert unknown.text == "No sale with receipt number NOPE at Flagship store."
    (in_chinese,) = await say(dialogs, "/refund NOPE", user="mia", lang="zh_CN")
    assert in_chinese.text == "旗舰店没有小票号为 NOPE 的消费。"  # by name, never "门店 main"


@pytest.mark.usefixtures("team")
async def test_a_second_refund_shows_what_is_still_refundable(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    """¥238 (20 points), ¥100 refunded: the next refund offers ¥138 and the 10 points ¥138
    earns, not the ¥238 and 20 points of the sale."""
    await loyalty.record_sale(
        ctx, store="main", receipt_no="R-238", member_id=member.id, amount_fen=23_800
    )
    (check,) = await say(dialogs, "/refund R-238 100", user="mia", lang="en")
    (done,) = await say(dialogs, payload=press(check, "Refund"), user="mia", lang="en")
    assert done.text == "Refunded CN¥100.00; 10 points taken back, balance 10."

    (check,) = await say(dialogs, "/refund R-238", user="mia", lang="en")
    assert check.text == hinted(
        "en",
        "Refund CN¥138.00 of receipt R-238 (Flagship store, CN¥138.00 of CN¥238.00 still "
        "refundable) for 李雷 (M000001, +8613800138000)?\n"
        "Points this sale still holds: 10",
    )
    (done,) = await say(dialogs, payload=press(check, "Refund"), user="mia", lang="en")
    assert done.text == "Refunded CN¥138.00; 10 points taken back, balance 0."


@pytest.mark.usefixtures("team")
async def test_a_refund_beyond_what_is_left_is_refused_before_the_confirmation(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    """¥100 asked with ¥38 left, or anything once all is refunded: refused at once with
    what is left, instead of a confirmation whose tap is then refused."""
    await loyalty.record_sale(
        ctx, store="main", receipt_no="R-238", member_id=member.id, amount_fen=23_800
    )
    await refunds.refund_sale(ctx, store="main", receipt_no="R-238", amount_fen=20_000)
    (check,) = await say(dialogs, "/refund R-238 100", user="mia", lang="en")
    assert check.text == "At most CN¥38.00 can still be refunded for this sale."
    assert check.choices == []
    await refunds.refund_sale(ctx, store="main", receipt_no="R-238", amount_fen=None)
    (check,) = await say(dialogs, "/refund R-238", user="mia", lang="en")
    assert check.text == "At most CN¥0.00 can still be refunded for this sale."
    assert check.choices == []


@pytest.mark.usefixtures("team")
async def test_use_refuses_used_expired_and_unknown_codes_with_the_reason(
    ctx: Context, clock: FixedClock, dialogs: Dialogs, member: MemberView
) -> None:
    await loyalty.record_sale(
        ctx, store="main", receipt_no="C-1", member_id=member.id, amount_fen=300_000
    )
    first = await redeem_reward(ctx, member.id, "coupon10")
    second = await redeem_reward(ctx, member.id, "coupon10")
    (used,) = await say(dialogs, f"/use {first.code}", user="cleo", lang="en")
    assert used.text.startswith(f"Coupon {first.code} used: ¥10 voucher, worth")
    assert "李雷 (M000001" in used.text
    (again,) = await say(dialogs, f"/use {first.code}", user="cleo", lang="en")
    assert again.text == "This coupon was already used."
    (unknown,) = await say(dialogs, "/use ZZZZZZZZZZ", user="cleo", lang="en")
    assert unknown.text == "No coupon with the code ZZZZZZZZZZ."
    clock.advance(timedelta(days=400))
    (expired,) = await say(dialogs, f"/use {second.code}", user="cleo", lang="en")
    assert expired.text == "This coupon has expired."


@pytest.mark.usefixtures("team")
async def test_member_card_masks_phone_for_clerks_and_shows_audit_to_managers(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    await say(dialogs, "/sale 13800138000 238 V-1", user="cleo", lang="en")
    (for_clerk,) = await say(dialogs, "/member 李雷", user="cleo", lang="en")
    assert "+86138****8000" in for_clerk.text and "Recent changes:" not in for_clerk.text
    assert "Recent sales:" in for_clerk.text
    (for_manager,) = await say(dialogs, "/member M000001", user="mia", lang="en")
    assert "+8613800138000" in for_manager.text
    assert "Sale recorded — staff #3 (console)" in for_manager.text
    (in_chinese,) = await say(dialogs, "/member M000001", user="mia", lang="zh_CN")
    assert "记录消费 — 员工 #3（控制台）" in in_chinese.text
    assert "sale." not in in_chinese.text and "staff:" not in in_chinese.text


@pytest.mark.usefixtures("team")
async def test_owner_invites_and_the_colleague_joins_once(ctx: Context, dialogs: Dialogs) -> None:
    (team_list,) = await say(dialogs, "/staff", user="boss", lang="en")
    assert "#3 cleo — clerk, Flagship store (console)" in team_list.text
    (roles,) = await say(dialogs, payload=press(team_list, "Invite"), user="boss", lang="en")
    (stores,) = await say(dialogs, payload=press(roles, "clerk"), user="boss", lang="en")
    (code_reply,) = await say(
        dialogs, payload=press(stores, "Riverside store"), user="boss", lang="en"
    )
    code = code_reply.text.split()[2]
    (joined,) = await say(dialogs, f"/join {code}", user="newbie", lang="en")
    assert joined.text.startswith("Welcome to the team! You are now #4 newbie — clerk")
    (again,) = await say(dialogs, f"/join {code}", user="other", lang="en")
    assert again.text == "This invite code is not valid, already used or expired."
    assert [(s.external_id, s.role.value, s.store, s.locale) for s in await list_staff(ctx)][
        -1
    ] == ("newbie", "clerk", "riverside", "en")  # their pushes in the language they joined in
    (mgr,) = await say(dialogs, "/staff", user="mia", lang="en")
    assert [b.label for b in mgr.choices] == ["Invite"]  # managers invite, owners manage
    assert "staff.invited" in await audit_actions(ctx)
    assert "staff.joined" in await audit_actions(ctx)


@pytest.mark.usefixtures("team")
async def test_text_typed_during_a_role_change_asks_again(ctx: Context, dialogs: Dialogs) -> None:
    """Found by the fuzzer: text where a button was expected failed the role change."""
    (team_list,) = await say(dialogs, "/staff", user="boss", lang="en")
    (who,) = await say(dialogs, payload=press(team_list, "Change a role"), user="boss", lang="en")
    (again,) = await say(dialogs, "cleo please", user="boss", lang="en")
    assert "#3 cleo — clerk" in again.text and "Change a role" in [b.label for b in again.choices]
    (who,) = await say(dialogs, payload=press(again, "Change a role"), user="boss", lang="en")
    label = next(b.label for b in who.choices if "cleo" in b.label)
    (roles,) = await say(dialogs, payload=press(who, label), user="boss", lang="en")
    (asked,) = await say(dialogs, "make her a manager", user="boss", lang="en")
    assert asked.text == hinted("en", "New role:") and [b.label for b in asked.choices] == [
        b.label for b in roles.choices
    ]
    (changed,) = await say(dialogs, payload=press(asked, "manager"), user="boss", lang="en")
    assert changed.text.startswith("Changed: #3 cleo — manager")


@pytest.mark.usefixtures("team")
async def test_staff_who_are_not_members_get_their_commands_not_registration(
    dialogs: Dialogs, member: MemberView
) -> None:
    (clerk,) = await say(dialogs, "/start", user="cleo", lang="en")
    assert clerk.text.startswith("Staff commands:\n/sale — record a purchase")
    assert "/refund" not in clerk.text and "Do you agree?" not in clerk.text
    (owner,) = await say(dialogs, "/help", user="boss", lang="en")
    assert "/alerts — alerts to approve" in owner.text
    (plain,) = await say(dialogs, "/help", user="lilei")
    assert "/sale" not in plain.text  # members see no staff commands


@pytest.mark.usefixtures("team")
@pytest.mark.parametrize("lang", LOCALES)
async def test_the_digest_is_in_the_help_of_managers_and_up(
    dialogs: Dialogs, member: MemberView, lang: str
) -> None:
    line = f"/digest — {gettext(lang, 'the weekly digest')}"
    for user in ("mia", "boss"):
        (shown,) = await say(dialogs, "/help", user=user, lang=lang)
        assert line in shown.text.splitlines()
    (clerk,) = await say(dialogs, "/help", user="cleo", lang=lang)
    assert "/digest" not in clerk.text


@pytest.mark.usefixtures("team")
async def test_a_nul_typed_with_a_command_is_dropped(
    ctx: Context, dialogs: Dialogs, member: MemberView
) -> None:
    """The fuzzer's find on PostgreSQL, which refuses NUL in any statement: a member search
    for it failed. Dropped, the search is for what is left."""
    (found,) = await say(dialogs, "/member 138001\x0038000", user="cleo", lang="en")
    assert "李雷 (M000001" in found.text
    (nothing,) = await say(dialogs, "/member \x00", user="cleo", lang="en")
    assert nothing.text
