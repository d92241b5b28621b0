"""`memberbot wechat …` against the fake WeChat API over loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.context import Context
from core.people import conversations
from storage.models import ServiceMessageRow
from tests.channels.fake_wechat import FakeWeChat
from tests.cli import invoke


@pytest.fixture
def account(cli_env: Context, fake_wechat: FakeWeChat, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMBERBOT_WECHAT_APP_ID", "wx0123456789abcdef")
    monkeypatch.setenv("MEMBERBOT_WECHAT_APP_SECRET", "app-secret")
    monkeypatch.setenv("MEMBERBOT_WECHAT_API_BASE", fake_wechat.base_url)


@pytest.mark.usefixtures("account")
async def test_menu_is_created_in_both_languages(fake_wechat: FakeWeChat) -> None:
    result = await invoke("wechat", "menu")
    assert result.exit_code == 0, result.output
    assert "The WeChat menu is created." in result.stdout
    (default,) = fake_wechat.calls_to("/cgi-bin/menu/create")
    (english,) = fake_wechat.calls_to("/cgi-bin/menu/addconditional")
    member, book, more = default.json["button"]
    assert member["name"] == "会员"
    assert member["sub_button"][0] == {"type": "click", "name": "我的积分", "key": "points"}
    assert book == {"type": "click", "name": "预约", "key": "booking"}
    assert [b["key"] for b in more["sub_button"]] == ["feedback", "profile", "help"]
    assert english.json["button"][0]["sub_button"][0]["name"] == "My points"
    assert english.json["matchrule"] == {"language": "en"}


@pytest.mark.usefixtures("account")
async def test_menu_refused_by_language_still_creates_the_default(
    fake_wechat: FakeWeChat,
) -> None:
    fake_wechat.fail_next("/cgi-bin/menu/addconditional", 65303)
    result = await invoke("wechat", "menu")
    assert result.exit_code == 0, result.output
    assert "WeChat did not take the en menu" in result.stderr
    assert len(fake_wechat.calls_to("/cgi-bin/menu/create")) == 1


@pytest.mark.usefixtures("account")
async def test_menu_with_an_unknown_key_is_refused_before_calling_wechat(
    fake_wechat: FakeWeChat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = tmp_path / "shop.toml"
    shop.write_text(
        '[[wechat.menu]]\nname = "抽奖"\nname_en = "Lottery"\nkey = "lottery"\n', encoding="utf-8"
    )
    monkeypatch.setenv("MEMBERBOT_SHOP_FILE", str(shop))
    result = await invoke("wechat", "menu")
    assert result.exit_code == 2
    assert "wechat.menu: unknown key 'lottery'" in result.stderr
    assert fake_wechat.calls_to("/cgi-bin/menu/create") == []


@pytest.mark.usefixtures("account")
async def test_store_qrcode_is_saved_as_png(fake_wechat: FakeWeChat, tmp_path: Path) -> None:
    result = await invoke("wechat", "qrcode", "--store", "riverside")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "qr-riverside.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    (call,) = fake_wechat.calls_to("/cgi-bin/qrcode/create")
    assert call.json["action_name"] == "QR_LIMIT_STR_SCENE"
    assert call.json["action_info"]["scene"]["scene_str"] == "store-riverside"

    result = await invoke("wechat", "qrcode", "--store", "nowhere")
    assert result.exit_code == 2
    assert "There is no store with the code nowhere." in result.stderr


@pytest.mark.usefixtures("account")
async def test_send_test_message_and_refusal(cli_env: Context, fake_wechat: FakeWeChat) -> None:
    owner = await conversations.arrive(cli_env, "wechat", "o-owner")  # wrote just now
    result = await invoke("wechat", "send-test", "o-owner")
    assert result.exit_code == 0, result.output
    (call,) = fake_wechat.calls_to("/cgi-bin/message/custom/send")
    assert call.json["touser"] == "o-owner"
    assert "your official account is connected" in call.json["text"]["content"]
    async with cli_env.db.read() as s:  # it uses up the window's quota like any other
        counted = list(await s.scalars(select(ServiceMessageRow.identity_id)))
    assert counted == [owner.id]

    fake_wechat.fail_next("/cgi-bin/message/custom/send", 45015)
    result = await invoke("wechat", "send-test", "o-silent")
    assert result.exit_code == 2
    assert "WeChat refused: 45015" in result.stderr
    assert "Traceback" not in result.output


async def test_wechat_commands_need_the_account(cli_env: Context) -> None:
    result = await invoke("wechat", "menu")
    assert result.exit_code == 2
    assert "Set MEMBERBOT_WECHAT_APP_ID and MEMBERBOT_WECHAT_APP_SECRET first." in result.stderr
