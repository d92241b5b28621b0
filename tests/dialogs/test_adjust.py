"""``/adjust``: managers and owners only (others are refused and audited), the slash form
and the guided form, candidates for an ambiguous member, one adjustment per Confirm, and
adjustments over the cap held for the owner."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Reply
from bot.dialogs.staff.adjust import parse_points, split_arguments
from bot.error_texts import describe
from bot.i18n import LOCALES, gettext
from core.context import Context
from core.errors import InvalidAmount, NotAllowed
from core.people.members import MemberView
from core.people.registration import register_member
from core.people.staff import StaffView, add_staff
from storage.models import AlertRow, AuditRow, LedgerRow, OutboxRow
from tests import factories
from tests.dialogs.conftest import hinted, press, say
from tests.factories import balance, count


@pytest.fixture
async def member(ctx: Context) -> MemberView:
    return await factories.registered(ctx, name="李雷", phone="13800138000", user="lilei")


@pytest.fixture
async def owner(ctx: Context) -> StaffView:
    return await factories.owner(ctx)


@pytest.fixture
async def manager(ctx: Context) -> StaffView:
    return await add_staff(ctx, channel="console", external_id="mia", role="manager", store="main")


def test_arguments_and_points_are_read_as_typed() -> None:
    assert split_arguments("/adjust") == {}
    assert split_arguments("/adjust Li Lei") == {"reference": "Li Lei"}
    assert split_arguments("/adjust 13800138000 +50") == {
        "reference": "13800138000",
        "points": "+50",
    }
    assert split_arguments("/adjust Li Lei -20 wrong sale R-7") == {
        "reference": "Li Lei",
        "points": "-20",
        "reason": "wrong sale R-7",
    }
    # A phone or member number is one word: what follows is the points, to be checked.
    assert split_arguments("/adjust M000001 fifty") == {"reference": "M000001", "points": "fifty"}
    assert [parse_points(t) for t in ("+50", "50", " -20 ", "＋5")] == [50, 50, -20, 5]
    for bad in ("0", "+0", "abc", "1.5", "", "+12345678"):
        with pytest.raises(InvalidAmount):
            parse_points(bad)


@pytest.mark.parametrize("role", [None, "member", "clerk"])
async def test_adjust_is_refused_below_manager_and_audited(
    ctx: Context, dialogs: Dialogs, member: MemberView, role: str | None
) -> None:
    user = "lilei" if role == "member" else "someone"
    if role == "clerk":
        await add_staff(ctx, channel="console", external_id=user, role="clerk", store="main")

    replies = await say(dialogs, "/adjust 13800138000 +50 please", user=user, lang="en")

    locale = member.locale if role == "member" else "en"
    assert [r.text for r in replies] == [describe(NotAllowed(needed="manager"), locale, None)]
    async with ctx.db.read() as s:
        (refused,) = await s.scalars(select(AuditRow).where(AuditRow.action == "staff.refused"))
    assert refused.details["command"] == "adjust"
    if role == "member":
        assert (refused.actor, refused.member_id) == (f"member:{member.id}", member.id)
    assert await balance(ctx, member.id) == 0
    assert await count(ctx, LedgerRow) == 0
    assert await count(ctx, AlertRow) == 0


@pytest.mark.usefixtures("owner")
@pytest.mark.parametrize("lang", LOCALES)
async def test_slash_form_confirms_then_adjusts_once(
    ctx: Context, dialogs: Dialogs, member: MemberView, manager: StaffView, lang: str
) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(lang, message, **params)

    who = "李雷 (M000001, +8613800138000)"  # managers see the phone
    (ask,) = await say(dialogs, "/adjust 13800138000 +50 birthday gift", user="mia", lang=lang)
    assert ask.text == hinted(
        lang,
        "\n".join(
            (
                t("Adjust {points} points for {member}?", points="+50", member=who),
                t("Reason: {reason}", reason="birthday gift"),
            )
        ),
    )
    assert await balance(ctx, member.id) == 0  # nothing before Confirm

    confirm = press(ask, t("Confirm"))
    (done,) = await say(dialogs, payload=confirm, user="mia", lang=lang)
    (again,) = await say(dialogs, payload=confirm, user="mia", lang=lang)

    assert done.text == t(
        "Done: {points} points for {member}. New balance: {balance}.",
        points="+50",
        member=who,
        balance=50,
    )
    assert again.text == t("This button is no longer valid; nothing more was done.")
    assert await balance(ctx, member.id) == 50
    async with ctx.db.read() as s:
        (adjusted,) = await s.scalars(select(AuditRow).where(AuditRow.action == "points.adjusted"))
    assert (adjusted.actor, adjusted.member_id) == (manager.actor, member.id)
    assert adjusted.details == {"points": 50, "reason": "birthday gift"}
    assert await count(ctx, AlertRow) == 0


@pytest.mark.parametrize("lang", LOCALES)
async def test_guided_form_over_the_cap_waits_for_the_owner(
    ctx: Context,
    dialogs: Dialogs,
    member: MemberView,
    owner: StaffView,
    manager: StaffView,
    lang: str,
) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(lang, message, **params)

    async def mia(text: str = "", payload: str | None = None) -> list[Reply]:
        return await say(dialogs, text, payload=payload, user="mia", lang=lang)

    who = "李雷 (M000001, +8613800138000)"
    cap = ctx.shop.staff.adjust_alert_points
    points = f"+{cap + 100}"
    assert [r.text for r in await mia("/adjust")] == [
        hinted(lang, t("Which member? Type a phone number, member number or name."))
    ]
    assert [r.text for r in await mia("M000001")] == [
        hinted(lang, t("How many points? For example +50 to add or -20 to take away."))
    ]
    assert [r.text for r in await mia("lots")] == [
        hinted(lang, describe(InvalidAmount(value="lots"), lang, None))
    ]  # and the question stays
    assert [r.text for r in await mia(points)] == [
        hinted(lang, t("Why? The reason is kept in the audit log."))
    ]
    too_long = t(
        "That is too long: at most {max} characters, yours has {count}. "
        "Please shorten it and send it again.",
        max=200,
        count=201,
    )
    assert [r.text for r in await mia("x" * 201)] == [hinted(lang, too_long)]  # refused, never cut
    assert [r.text for r in await mia("\u200b")] == [
        hinted(lang, t("Why? The reason is kept in the audit log."))
    ]
    (ask,) = await mia("lost paper receipts")
    assert ask.text == hinted(
        lang,
        "\n".join(
            (
                t("Adjust {points} points for {member}?", points=points, member=who),
                t("Reason: {reason}", reason="lost paper receipts"),
                t("This is more than {cap} points, so it waits for the owner's approval.", cap=cap),
            )
        ),
    )

    (held,) = await mia(payload=press(ask, t("Confirm")))

    async with ctx.db.read() as s:
        (alert,) = await s.scalars(select(AlertRow))
        (pushed,) = await s.scalars(select(OutboxRow))
    assert held.text == t(
        "Adjustment of {points} points for {member} waits for the owner's approval (#{alert}).",
        points=points,
        member=who,
        alert=alert.id,
    )
    assert (alert.kind, alert.status, alert.staff_id) == ("adjustment", "open", manager.id)
    assert alert.details["points"] == cap + 100
    assert (pushed.staff_id, pushed.kind) == (owner.id, "staff_alert")
    assert await balance(ctx, member.id) == 0


@pytest.mark.usefixtures("manager")
async def test_owner_adjusts_over_the_cap_at_once(
    ctx: Context, dialogs: Dialogs, member: MemberView, owner: StaffView
) -> None:
    (ask,) = await say(dialogs, "/adjust M000001 -0 oops", user="boss", lang="en")
    assert ask.text == describe(InvalidAmount(value="-0"), "en", None)

    (ask,) = await say(dialogs, "/adjust M000001 +2000 opening promotion", user="boss", lang="en")
    assert "owner's approval" not in ask.text
    (done,) = await say(dialogs, payload=press(ask, "Confirm"), user="boss", lang="en")

    assert done.text.startswith("Done: +2000 points")
    assert await balance(ctx, member.id) == 2000
    assert await count(ctx, AlertRow) == 0


@pytest.mark.usefixtures("manager")
async def test_ambiguous_member_offers_candidates_and_cancel_changes_nothing(
    ctx: Context, dialogs: Dialogs
) -> None:
    wang = await register_member(ctx, name="王芳", phone="13700137001")
    await register_member(ctx, name="王磊", phone="13700137002")

    (which,) = await say(dialogs, "/adjust 王 +30 free coffee", user="mia", lang="zh_CN")

    assert which.text == hinted(
        "zh_CN", gettext("zh_CN", "Which member do you mean by “{reference}”?", reference="王")
    )
    assert len(which.choices) == 2
    label = f"王芳 ({wang.member_no}, +8613700137001)"
    (ask,) = await say(dialogs, payload=press(which, label), user="mia")
    assert ask.text.startswith(
        gettext(
            "zh_CN",
            "Adjust {points} points for {member}?",
            points="+30",
            member=label,
        )
    )
    (cancelled,) = await say(dialogs, payload=press(ask, gettext("zh_CN", "Cancel")), user="mia")

    assert cancelled.text == gettext("zh_CN", "Cancelled; nothing was changed.")
    assert await balance(ctx, wang.id) == 0
    assert await count(ctx, LedgerRow) == 0
