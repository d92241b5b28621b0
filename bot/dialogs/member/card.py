"""Member card: member number, name, tier, and a QR code of the member number that staff
scan at the counter (the same number ``core.people.members.parse_member_no`` reads back)."""

from __future__ import annotations

from io import BytesIO

import segno

from bot.dialogs.engine.dialogs import Flow, Menu, MenuCommand, Turn
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import Reply, Step
from bot.i18n import N_, localized

NAME = "card"
QR_ERROR = "m"  # survives a scratched phone screen; segno raises it further when room allows
QR_SCALE = 8  # pixels per module: sharp on phone screens, small enough for any channel
QR_BORDER = 2  # modules of quiet zone; chat apps add their own white margin around images


def qr_png(content: str) -> bytes:
    """A full QR code (never a Micro QR, which many phone and counter scanners cannot read)."""
    buffer = BytesIO()
    segno.make_qr(content, error=QR_ERROR).save(
        buffer, kind="png", scale=QR_SCALE, border=QR_BORDER
    )
    return buffer.getvalue()


async def show(turn: Turn) -> Step:
    member = turn.member
    assert member is not None
    tier = turn.ctx.shop.tier(member.tier)
    text = "\n".join(
        (
            turn._("Member card"),
            turn._("Member number: {member_no}", member_no=member.member_no),
            turn._("Name: {name}", name=member.name),
            turn._("Tier: {tier}", tier=localized(tier.name, tier.name_en, turn.locale)),
            turn._("Show this code at the counter to collect points or use a coupon."),
        )
    )
    return Step([Reply(text, image=qr_png(member.member_no), image_name="card.png")])


flow = Flow(
    name=NAME,
    start=show,
    commands=("/card",),
    intents=(
        Intents(
            zh=(
                "会员卡",
                "我的会员卡",
                "出示会员码",
                "会员码",
                "二维码",
                "付款码",
                "会员号",
                "卡号",
                "电子会员卡",
                "出示会员卡",
                "我的二维码",
                "条码",
            ),
            en=(
                "card",
                "member card",
                "membership card",
                "my card",
                "show my card",
                "qr code",
                "qr",
                "my qr code",
                "my member number",
                "barcode",
                "membership number",
            ),
        ),
    ),
    precedence=50,
    menu=Menu(N_("Member card"), order=50),
    command_menu=(MenuCommand("card", N_("Member card"), order=50),),
)
FLOWS = (flow,)
