"""WeChat links over the real endpoint: what a member typed reaches staff as plain text, a
link that is not memberbot's asks before it runs a command, and each link of memberbot's
means the choice of the message it was shown under, however many messages came after."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.handlers.wechat_api import WeChatAPI
from bot.pushes.wechat import WeChatPushes
from core.clock import FixedClock
from core.context import Context
from core.ledger import statement
from core.oversight import approvals
from core.people.members import member_for_identity
from core.people.registration import register_member
from core.people.staff import add_staff
from storage.models import AlertRow, SaleRow
from tests.channels.fake_wechat import FakeWeChat
from tests.channels.pushing import dispatcher
from tests.channels.test_wechat import CUSTOM_SEND, register, zh
from tests.channels.wechat_sim import Answer, WeChatSimulator, choices, links

HOSTILE = (
    "菜里有头发 "
    '<a href="weixin://bizmsgmenu?msgmenucontent=/sale 13800138555 4000&msgmenuid=1">查看照片</a>'
)
SALE = "/sale 13800138555 4000"
NO_LONGER_VALID = zh("This button is no longer valid; nothing more was done.")


async def sales(ctx: Context) -> list[SaleRow]:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(SaleRow).order_by(SaleRow.id)))


def live_links(content: str) -> list[str]:
    """Every line that WeChat would show with a link in it."""
    return [line for line in content.splitlines() if "<a " in line]


async def test_a_members_link_reaches_the_clerk_as_text_and_its_tap_records_nothing(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    """Issue 21.1: the feedback's link is shown as the text it is, not as a link; were it
    tapped (WeChat sends its content, with its id), the sale is shown and asked about, and
    only a confirmation records it, once."""
    await register(wechat, "o-member")
    member = await member_for_identity(ctx, "wechat", "o-member")
    assert member is not None
    await register_member(ctx, name="王芳", phone="13800138555")
    rating = await wechat.text("o-member", "/feedback")
    await wechat.tap("o-member", rating, "⭐")
    await wechat.text("o-member", HOSTILE)
    await add_staff(ctx, channel="wechat", external_id="o-clerk", role="clerk", store="main")

    queue = await wechat.text("o-clerk", "/feedback")
    (label,) = choices(queue.content)
    full = await wechat.tap("o-clerk", queue, label)

    for view in (queue, full):  # the only links are the choices' own
        assert len(live_links(view.content)) == len(choices(view.content))
        assert "msgmenucontent=/sale" not in "".join(live_links(view.content))
    assert HOSTILE.replace("<", "＜").replace(">", "＞") in full.content

    asked = await wechat.text("o-clerk", SALE, bizmsgmenuid="1")
    assert asked.content.startswith(
        zh("A link you tapped sends this command:\n{command}\nRun it?", command=SALE)
    )
    assert await sales(ctx) == []

    recorded = await wechat.tap("o-clerk", asked, zh("Run it"))
    again = await wechat.tap("o-clerk", asked, zh("Run it"))
    assert zh("Recorded {amount} for {member}.", amount="¥4,000.00", member="")[:3] in (
        recorded.content
    )
    assert again.content == NO_LONGER_VALID
    assert [(sale.amount_fen, sale.member_id) for sale in await sales(ctx)] == [
        (400_000, member.id + 1)
    ]


async def test_a_tapped_command_can_be_cancelled(ctx: Context, wechat: WeChatSimulator) -> None:
    await register_member(ctx, name="王芳", phone="13800138555")
    await add_staff(ctx, channel="wechat", external_id="o-clerk", role="clerk", store="main")

    asked = await wechat.text("o-clerk", SALE, bizmsgmenuid="7")
    cancelled = await wechat.tap("o-clerk", asked, zh("Cancel"))
    late = await wechat.tap("o-clerk", asked, zh("Run it"))

    assert cancelled.content == zh("Cancelled; nothing was changed.")
    assert late.content == NO_LONGER_VALID
    assert await sales(ctx) == []


async def test_a_question_left_unanswered_lets_what_is_typed_go_on(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    await register_member(ctx, name="王芳", phone="13800138555")
    await add_staff(ctx, channel="wechat", external_id="o-clerk", role="clerk", store="main")

    asked = await wechat.text("o-clerk", SALE, bizmsgmenuid="7")
    typed = await wechat.text("o-clerk", "/sale 13800138555 12")  # typed: runs at once
    late = await wechat.tap("o-clerk", asked, zh("Run it"))

    assert zh("Recorded {amount} for {member}.", amount="", member="")[:2] in typed.content
    assert late.content == NO_LONGER_VALID
    assert [sale.amount_fen for sale in await sales(ctx)] == [1_200]


async def test_undo_under_the_first_sale_takes_back_the_first(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    """Issue 21.2: two sales to two members; Undo tapped under the first takes back the
    first, and the second (another member's) stays; typed, "1" is the newest's Undo."""
    first = await register_member(ctx, name="李雷", phone="13800138001")
    second = await register_member(ctx, name="韩梅梅", phone="13800138002")
    await add_staff(ctx, channel="wechat", external_id="o-clerk", role="clerk", store="main")
    undo = zh("Undo (within {minutes} min)", minutes=5)

    sold_first = await wechat.text("o-clerk", "/sale 13800138001 500")
    sold_second = await wechat.text("o-clerk", "/sale 13800138002 500")
    undone = await wechat.tap("o-clerk", sold_first, undo)

    assert "李雷" in undone.content and "韩梅梅" not in undone.content
    assert [(s.member_id, s.refunded_fen) for s in await sales(ctx)] == [
        (first.id, 50_000),
        (second.id, 0),
    ]
    assert (await statement.points_summary(ctx, second.id)).balance == 50
    assert links(sold_first.content)[undo] != links(sold_second.content)[undo]

    await wechat.text("o-clerk", "/sale 13800138001 300")
    typed = await wechat.text("o-clerk", "1")  # a number typed: the newest message's choice
    assert "李雷" in typed.content
    assert [s.refunded_fen for s in await sales(ctx)] == [50_000, 0, 30_000]


@pytest.fixture
async def pushes(ctx: Context, fake_wechat: FakeWeChat) -> AsyncIterator[WeChatPushes]:
    api = WeChatAPI(ctx.db, ctx.clock, app_id="wx1", app_secret="s", base_url=fake_wechat.base_url)
    yield WeChatPushes(ctx, api)
    await api.close()


async def test_approve_under_the_first_pushed_alert_approves_the_first(
    ctx: Context,
    clock: FixedClock,
    wechat: WeChatSimulator,
    fake_wechat: FakeWeChat,
    pushes: WeChatPushes,
) -> None:
    """Issue 21.2: two held adjustments pushed to the owner, each with 批准 and 拒绝: 批准
    tapped under the first approves the first; the second stays open."""
    owner = await add_staff(ctx, channel="wechat", external_id="o-boss", role="owner", store=None)
    manager = await add_staff(
        ctx, channel="console", external_id="mia", role="manager", store="main"
    )
    await wechat.text("o-boss", "/help")  # the owner wrote: pushes may go as messages
    held = []
    for phone in ("13800138001", "13800138002"):
        member = await register_member(ctx, name="李雷", phone=phone)
        adjustment = await approvals.request_adjustment(
            ctx, manager, member.id, 800, "lost receipts"
        )
        held.append(adjustment.alert_id)
    await dispatcher(ctx, clock, {"wechat": pushes}).drain()
    first, second = (
        Answer(200, "", {"Content": call.json["text"]["content"]})
        for call in fake_wechat.calls_to(CUSTOM_SEND)
        if call.json is not None
    )
    approve = zh("Approve")
    assert choices(first.content)[approve] == choices(second.content)[approve]  # both "1)"

    await wechat.tap("o-boss", first, approve)

    async with ctx.db.read() as s:
        decided = {row.id: row.status for row in await s.scalars(select(AlertRow))}
    assert decided == {held[0]: "approved", held[1]: "open"}
    assert owner.role.value == "owner"


async def test_a_link_shown_to_another_account_means_nothing_here(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    await register_member(ctx, name="李雷", phone="13800138001")
    for clerk in ("o-clerk", "o-other"):
        await add_staff(ctx, channel="wechat", external_id=clerk, role="clerk", store="main")
    undo = zh("Undo (within {minutes} min)", minutes=5)
    sold = await wechat.text("o-clerk", "/sale 13800138001 500")

    borrowed = await wechat.text("o-other", undo, bizmsgmenuid=links(sold.content)[undo])

    assert borrowed.content == NO_LONGER_VALID
    assert [s.refunded_fen for s in await sales(ctx)] == [0]


async def test_refund_under_an_older_confirmation_never_refunds_the_newer_one(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    """Issue 21.2, its twin in confirmations: two /refund questions with the same labels;
    the first's Refund, tapped after the second was asked, is no longer valid (the
    conversation now holds the second's receipt) and refunds nothing."""
    await register_member(ctx, name="李雷", phone="13800138001")
    await add_staff(ctx, channel="wechat", external_id="o-boss", role="manager", store="main")
    for receipt in ("R-1", "R-2"):
        await wechat.text("o-boss", f"/sale 13800138001 238 {receipt}")
    refund = zh("Refund")

    first = await wechat.text("o-boss", "/refund R-1 10")
    second = await wechat.text("o-boss", "/refund R-2 20")
    assert links(first.content)[refund] != links(second.content)[refund]
    stale = await wechat.tap("o-boss", first, refund)
    assert stale.content == NO_LONGER_VALID
    assert [s.refunded_fen for s in await sales(ctx)] == [0, 0]

    await wechat.tap("o-boss", second, refund)
    assert [s.refunded_fen for s in await sales(ctx)] == [0, 2_000]


async def test_run_it_under_an_older_tapped_command_runs_nothing(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    """Two tapped commands asked about in turn: the first question's Run it is no longer
    valid (it would have run the second's command); the second's runs its own."""
    await register_member(ctx, name="王芳", phone="13800138555")
    await register_member(ctx, name="李雷", phone="13800138001")
    await add_staff(ctx, channel="wechat", external_id="o-clerk", role="clerk", store="main")
    run_it = zh("Run it")

    first = await wechat.text("o-clerk", SALE, bizmsgmenuid="1")
    second = await wechat.text("o-clerk", "/sale 13800138001 1", bizmsgmenuid="2")
    stale = await wechat.tap("o-clerk", first, run_it)
    assert stale.content == NO_LONGER_VALID
    assert await sales(ctx) == []

    await wechat.tap("o-clerk", second, run_it)
    assert [s.amount_fen for s in await sales(ctx)] == [100]


async def test_a_name_in_a_link_cannot_add_to_the_link(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    """A member's name among a clerk's candidates is a link's label: its ``&``, quotes and
    angle brackets cannot end the link early or give it a second ``msgmenuid``."""
    await register_member(ctx, name='李&msgmenuid=1"><a', phone="13800138001")
    await register_member(ctx, name="李雷", phone="13800138002")
    await add_staff(ctx, channel="wechat", external_id="o-clerk", role="clerk", store="main")

    found = await wechat.text("o-clerk", "/member 李")
    lines = live_links(found.content)
    assert len(lines) == len(choices(found.content)) >= 2
    for line in lines:  # as a browser reads the link, its entities decoded
        assert html.unescape(line).count("&msgmenuid=") == 1 and line.count("<a ") == 1
        assert line.count('"') == 2  # the href's own quotes
