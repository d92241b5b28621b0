"""``/alerts``: the owner sees open alerts with Approve / Reject; the buttons work later too
(as under a pushed alert), a second tap does nothing twice, and only owners may decide."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs, Turn
from bot.dialogs.engine.types import Event, Sender
from bot.dialogs.staff.alerts import alert_text
from bot.error_texts import describe
from bot.i18n import LOCALES, format_money, gettext
from bot.pushes import texts
from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.errors import AlertDecided, InvalidInput, NotAllowed, PhoneTaken
from core.ledger import adjustments, refunds
from core.oversight import alerts, approvals
from core.people.members import MemberView
from core.people.registration import register_member
from core.people.staff import StaffView, add_staff
from core.pushes import work_queue
from storage.models import AlertRow, AuditRow
from tests import factories
from tests.dialogs.conftest import press, say
from tests.factories import balance


def turn_for(ctx: Context, locale: str) -> Turn:
    """What the push dispatcher has when it renders a ``staff_alert``: a locale and the shop."""
    return Turn(
        ctx=ctx,
        event=Event(Sender("console", "boss")),
        identity=None,  # type: ignore[arg-type]
        member=None,
        locale=locale,
    )


@pytest.fixture
async def member(ctx: Context) -> MemberView:
    return await factories.registered(ctx, name="李雷", phone="13800138000", home_store="main")


@pytest.fixture
async def owner(ctx: Context) -> StaffView:
    return await factories.owner(ctx, name="Boss")


@pytest.fixture
async def manager(ctx: Context) -> StaffView:
    return await add_staff(
        ctx, channel="console", external_id="mia", role="manager", store="main", name="Mia"
    )


async def held_adjustment(ctx: Context, manager: StaffView, member: MemberView) -> int:
    held = await approvals.request_adjustment(ctx, manager, member.id, 800, "lost receipts")
    assert held.alert_id is not None
    return held.alert_id


@pytest.mark.usefixtures("owner")
async def test_no_open_alerts(dialogs: Dialogs) -> None:
    for lang in LOCALES:
        replies = await say(dialogs, "/alerts", user="boss", lang=lang)
        assert [r.text for r in replies] == [gettext(lang, "No open alerts.")]


@pytest.mark.parametrize("lang", LOCALES)
async def test_owner_approves_a_held_adjustment_once(
    ctx: Context,
    dialogs: Dialogs,
    owner: StaffView,
    manager: StaffView,
    member: MemberView,
    lang: str,
) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(lang, message, **params)

    alert_id = await held_adjustment(ctx, manager, member)

    heading, shown = await say(dialogs, "/alerts", user="boss", lang=lang)

    assert heading.text == t("Open alerts: {count}", count=1)
    view = await alerts.get_alert(ctx, alert_id)
    assert shown.text == alert_text(turn_for(ctx, lang), view)
    assert [b.label for b in shown.choices] == [t("Approve"), t("Reject")]
    approve = press(shown, t("Approve"))

    (done,) = await say(dialogs, payload=approve, user="boss", lang=lang)
    (again,) = await say(dialogs, payload=approve, user="boss", lang=lang)

    assert done.text == t(
        "Approved: {points} points for {member}. New balance: {balance}.",
        points="+800",
        member="李雷 (M000001)",
        balance=800,
    )
    assert again.text == describe(AlertDecided(alert=alert_id, status="approved"), lang, None)
    assert await balance(ctx, member.id) == 800
    async with ctx.db.read() as s:
        actions = list(await s.scalars(select(AuditRow.action).order_by(AuditRow.id)))
    assert actions[-2:] == ["points.adjusted", "alert.approved"]
    assert actions.count("points.adjusted") == 1


@pytest.mark.parametrize("lang", LOCALES)
async def test_reject_from_a_pushed_alert_discards_the_adjustment(
    ctx: Context,
    dialogs: Dialogs,
    owner: StaffView,
    manager: StaffView,
    member: MemberView,
    lang: str,
) -> None:
    alert_id = await held_adjustment(ctx, manager, member)
    await say(dialogs, "/help", user="boss", lang=lang)  # the owner is somewhere else

    # The buttons of the pushed message carry the alert: no /alerts needed first.
    (done,) = await say(dialogs, payload=f"alerts|reject|{alert_id}", user="boss", lang=lang)
    (late,) = await say(dialogs, payload=f"alerts|approve|{alert_id}", user="boss", lang=lang)

    assert done.text == gettext(
        lang, "Rejected: the adjustment for {member} was not applied.", member="李雷 (M000001)"
    )
    assert late.text == describe(AlertDecided(), lang, None)
    assert await balance(ctx, member.id) == 0
    async with ctx.db.read() as s:
        row = await s.get(AlertRow, alert_id)
    assert row is not None
    assert (row.status, row.decided_by) == ("rejected", owner.id)


@pytest.mark.usefixtures("owner")
async def test_manager_cannot_see_or_decide_alerts(
    ctx: Context, dialogs: Dialogs, manager: StaffView, member: MemberView
) -> None:
    alert_id = await held_adjustment(ctx, manager, member)
    refusal = describe(NotAllowed(needed="owner"), "en", None)

    listed = await say(dialogs, "/alerts", user="mia", lang="en")
    pressed = await say(dialogs, payload=f"alerts|approve|{alert_id}", user="mia", lang="en")

    assert [r.text for r in listed + pressed] == [refusal, refusal]
    assert await balance(ctx, member.id) == 0
    assert [a.id for a in await alerts.open_alerts(ctx)] == [alert_id]
    async with ctx.db.read() as s:
        refused = list(
            await s.scalars(select(AuditRow.actor).where(AuditRow.action == "staff.refused"))
        )
    assert refused == [manager.actor, manager.actor]


@pytest.mark.parametrize("lang", LOCALES)
async def test_every_kind_reads_well_and_is_checked_or_flagged(
    ctx: Context,
    dialogs: Dialogs,
    clock: FixedClock,
    owner: StaffView,
    manager: StaffView,
    member: MemberView,
    lang: str,
) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(lang, message, **params)

    clerk = await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main")
    for receipt in ("R-1", "R-2", "R-3"):
        await loyalty.record_sale(
            ctx,
            store="main",
            receipt_no=receipt,
            member_id=member.id,
            amount_fen=50_000,
            staff_id=clerk.id,
        )
        clock.advance(timedelta(minutes=1))
    await adjustments.adjust_points(ctx, member.id, -155, "spent", actor=owner.actor)
    await refunds.refund_sale(ctx, store="main", receipt_no="R-1", staff_id=manager.id)
    with pytest.raises(PhoneTaken):
        await register_member(ctx, name="Li", phone="13800138000", home_store="riverside")
    await held_adjustment(ctx, manager, member)

    burst, shortfall, elsewhere, adjustment = await alerts.open_alerts(ctx)
    turn = turn_for(ctx, lang)
    main, riverside = (
        ("旗舰店", "滨江店") if lang == "zh_CN" else ("Flagship store", "Riverside store")
    )
    who = "李雷 (M000001)"

    def body(view: alerts.AlertView) -> str:
        head, *rest = alert_text(turn, view).split("\n")
        assert head == t("Alert #{id}, {moment}", id=view.id, moment=turn.moment(view.created_at))
        return "\n".join(rest)

    assert body(burst) == t(
        "{member} got {sales} sales within {minutes} minutes (the last one by {staff}).",
        member=who,
        sales=3,
        minutes=30,
        staff=t("staff #{id}", id=clerk.id),
    )
    assert body(shortfall) == t(
        "Refund of {amount} on receipt {receipt} ({store}) for {member}: {points} points "
        "had already been spent and could not be taken back.",
        amount=format_money(50_000, lang),
        receipt="R-1",
        store=main,
        member=who,
        points=50,
    )
    assert body(elsewhere) == t(
        "Someone tried to register {phone} at {store}; it belongs to {member} of {home}.",
        phone="+86138****8000",
        store=riverside,
        member=who,
        home=main,
    )
    assert body(adjustment) == "\n".join(
        (
            t(
                "{staff} asks to adjust {points} points for {member}. Reason: {reason}",
                staff="Mia",
                points="+800",
                member=who,
                reason="lost receipts",
            ),
            t("It is not applied until you approve it."),
        )
    )

    before = await balance(ctx, member.id)
    (checked,) = await say(dialogs, payload=f"alerts|approve|{burst.id}", user="boss", lang=lang)
    (flagged,) = await say(dialogs, payload=f"alerts|reject|{shortfall.id}", user="boss", lang=lang)

    assert checked.text == t("Alert #{id} marked as checked.", id=burst.id)
    assert flagged.text == t("Alert #{id} flagged for follow-up.", id=shortfall.id)
    assert await balance(ctx, member.id) == before  # nothing reversed
    decided = await alerts.get_alert(ctx, shortfall.id)
    assert alert_text(turn, decided).endswith("\n" + t("Rejected."))
    (heading, *shown) = await say(dialogs, "/alerts", user="boss", lang=lang)
    assert heading.text == t("Open alerts: {count}", count=2)
    assert [r.text for r in shown] == [alert_text(turn, elsewhere), alert_text(turn, adjustment)]


async def pushed_alert(ctx: Context, owner: StaffView, alert_id: int) -> tuple[str, str]:
    """The language and text of the alert's push to ``owner``, as the dispatcher words it."""
    claimed = [p for p in await work_queue.claim(ctx, 50) if p.staff_id == owner.id]
    (push,) = [p for p in claimed if p.params["alert_id"] == alert_id]
    message = await texts.render(ctx, push, push.recipients[0])
    return message.locale, message.replies[0].text


async def test_a_pushed_alert_is_in_the_language_the_owner_chats_in(
    ctx: Context, dialogs: Dialogs, manager: StaffView, member: MemberView
) -> None:
    """An owner who is no member and chats in English got alerts in Chinese."""
    owner = await add_staff(
        ctx, channel="telegram", external_id="7007", role="owner", store=None, name="Ann"
    )
    await say(dialogs, "/alerts", user="7007", channel="telegram", lang="en")
    first = await held_adjustment(ctx, manager, member)
    locale, text = await pushed_alert(ctx, owner, first)
    assert locale == "en"
    assert text == alert_text(turn_for(ctx, "en"), await alerts.get_alert(ctx, first))

    await say(dialogs, "/help", user="7007", channel="telegram", lang="zh-hans")  # now Chinese
    second = await held_adjustment(ctx, manager, member)
    locale, text = await pushed_alert(ctx, owner, second)
    assert locale == "zh_CN"
    assert text == alert_text(turn_for(ctx, "zh_CN"), await alerts.get_alert(ctx, second))


async def test_staff_added_from_the_command_line_get_alerts_in_their_language(
    ctx: Context, manager: StaffView, member: MemberView
) -> None:
    """Before they ever write: the language given with ``staff add --lang``."""
    owner = await add_staff(
        ctx, channel="telegram", external_id="7008", role="owner", store=None, locale="en"
    )
    alert_id = await held_adjustment(ctx, manager, member)
    assert (await pushed_alert(ctx, owner, alert_id))[0] == "en"
    with pytest.raises(InvalidInput):
        await add_staff(
            ctx, channel="telegram", external_id="7009", role="owner", store=None, locale="fr"
        )
