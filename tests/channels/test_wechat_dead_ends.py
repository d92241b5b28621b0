"""No dead end over WeChat (issue 23, point 5): after a refusal in "cancel booking", the
numbered links are shown again, and a typed number or a tap on the first question's link
still does what it says."""

from __future__ import annotations

import pytest

from bot.i18n import gettext
from core.context import Context
from core.people.members import member_for_identity
from core.service import bookings
from tests.channels.test_wechat import register
from tests.channels.wechat_sim import WeChatSimulator, choices
from tests.factories import shop_time


def zh(message: str, **params: object) -> str:
    return gettext("zh_CN", message, **params)


@pytest.mark.parametrize("then", ["typed", "tapped"])
async def test_a_refusal_keeps_the_numbered_links(
    ctx: Context, wechat: WeChatSimulator, then: str
) -> None:
    await register(wechat, "o-cancel")
    member = await member_for_identity(ctx, "wechat", "o-cancel")
    assert member is not None
    await bookings.book(ctx, member.id, "main", shop_time(5, 15), 2)
    mine = await wechat.text("o-cancel", "我的预约")
    ask = await wechat.tap("o-cancel", mine, zh("Cancel #{number}", number=1))
    assert choices(ask.content) == {zh("Yes, cancel it"): 1, zh("No, keep it"): 2}

    refused = await wechat.text("o-cancel", "嗯？")
    assert choices(refused.content) == {zh("Yes, cancel it"): 1, zh("No, keep it"): 2}
    assert zh('(reply "cancel" to leave)') in refused.content
    assert len(await bookings.upcoming_bookings(ctx, member.id)) == 1

    if then == "typed":
        done = await wechat.text("o-cancel", "1")
    else:
        done = await wechat.tap("o-cancel", ask, zh("Yes, cancel it"))
    assert done.content.startswith(zh("Cancelled: {booking}", booking=""))
    assert await bookings.upcoming_bookings(ctx, member.id) == []
