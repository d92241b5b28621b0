"""A booking request that says when, over WeChat (signed and encrypted, real HTTP): the day
and time it names reach the confirmation. Now is Monday 2026-01-05 10:00 in Shanghai."""

from __future__ import annotations

from bot.i18n import format_day, format_time, gettext
from core.context import Context
from core.service import bookings
from tests.channels.wechat_sim import WeChatSimulator, choices
from tests.conftest import ZONE
from tests.factories import member, shop_time


def zh(message: str, **params: object) -> str:
    return gettext("zh_CN", message, **params)


async def test_tomorrow_2pm_reaches_the_confirmation(ctx: Context, wechat: WeChatSimulator) -> None:
    member_id = await member(
        ctx, name="王芳", channel="wechat", external_id="o-book", locale="zh_CN"
    )
    stores = await wechat.text("o-book", "明天下午两点预约")
    assert zh("Which store would you like to visit?") in stores.content
    sizes = await wechat.text("o-book", str(choices(stores.content)["旗舰店"]))
    assert zh("How many people are coming? (1 to {max})", max=4) in sizes.content
    summary = await wechat.text("o-book", "2")
    tomorrow_2pm = shop_time(6, 14)
    assert zh("Day: {day}", day=format_day(tomorrow_2pm.date(), "zh_CN")) in summary.content
    assert zh("Time: {time}", time=format_time(tomorrow_2pm, "zh_CN", ZONE)) in summary.content
    done = await wechat.tap("o-book", summary, zh("Confirm"))
    assert zh("Booked! See you soon.") in done.content
    (booked,) = await bookings.upcoming_bookings(ctx, member_id)
    assert (booked.store, booked.starts_at, booked.party_size) == ("main", tomorrow_2pm, 2)
