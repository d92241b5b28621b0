"""Service pushes as WeChat template messages: the shop file's template id and fields, filled
with the push's values in the member's language, sent to the fake WeChat API."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from bot.handlers.wechat_api import WeChatAPI
from bot.handlers.wechat_messages import template_data
from bot.pushes.texts import push_values
from core import loyalty
from core.context import Context
from core.people.members import get_member
from core.people.registration import register_member
from core.shop_file import load_shop
from storage.models import OutboxRow
from tests.channels.fake_wechat import FakeWeChat

SHOP = """
[wechat.templates.receipt]
id = "TPL-receipt"
url = "https://shop.example/points"

[wechat.templates.receipt.fields]
first = "{name}，感谢惠顾"
keyword1 = "{amount}"
keyword2 = "{points}"
keyword3 = "{balance}"
remark = "{store} · {tier} · {nonsense}"
"""


async def test_receipt_goes_out_as_the_configured_template(
    ctx: Context, fake_wechat: FakeWeChat, tmp_path: Path
) -> None:
    (tmp_path / "shop.toml").write_text(SHOP, encoding="utf-8")
    ctx = replace(ctx, shop=load_shop(tmp_path / "shop.toml"))
    member = await register_member(ctx, name="韩梅梅", phone="13900139000")
    await loyalty.record_sale(
        ctx, store="riverside", receipt_no="R-7", member_id=member.id, amount_fen=123_456
    )
    async with ctx.db.read() as s:
        push = await s.scalar(select(OutboxRow).where(OutboxRow.kind == "receipt"))
    assert push is not None
    values = push_values(ctx, push.params, await get_member(ctx, member.id), ctx.now())
    message = template_data(ctx.shop, "receipt", values)
    assert message is not None
    assert template_data(ctx.shop, "refund", values) is None  # no template configured

    api = WeChatAPI(ctx.db, ctx.clock, app_id="wx1", app_secret="s", base_url=fake_wechat.base_url)
    try:
        await api.send_template("o-hmm", message.template_id, message.data, message.url)
    finally:
        await api.close()
    (call,) = fake_wechat.calls_to("/cgi-bin/message/template/send")
    assert call.json == {
        "touser": "o-hmm",
        "template_id": "TPL-receipt",
        "url": "https://shop.example/points",
        "data": {
            "first": {"value": "韩梅梅，感谢惠顾"},
            "keyword1": {"value": "¥1,234.56"},
            "keyword2": {"value": "120"},
            "keyword3": {"value": "120"},
            "remark": {"value": "滨江店 · 银卡 · "},  # an unknown placeholder stays empty
        },
    }
