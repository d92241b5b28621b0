"""Setting up an official account from the shop file: the custom menu, store QR codes and
a test message (the ``memberbot wechat`` commands)."""

from __future__ import annotations

from typing import Any

from bot.dialogs.engine.deeplinks import STORE_PREFIX
from bot.dialogs.member.card import qr_png
from bot.dialogs.registry import FLOWS
from bot.handlers.wechat_api import WeChatAPI, WeChatAPIError
from bot.i18n import LOCALES, gettext, localized
from core.errors import UnknownStore
from core.shop import MenuButton, Shop, ShopFileError

# The conditional menu's language rule is one WeChat has been retiring: where it is refused,
# every follower sees the menu in the shop's first language.
CONDITIONAL_LANGUAGES = {"en": "en"}


# A CLICK's key names the flow it starts (the engine's ``Event.menu``).
MENU_KEYS = frozenset(flow.name for flow in FLOWS)


def menu_body(shop: Shop, locale: str) -> dict[str, Any]:
    """The menu in WeChat's JSON; a CLICK's key must be one of ``MENU_KEYS``."""
    return {"button": [_button(button, locale) for button in shop.wechat.menu]}


def _button(button: MenuButton, locale: str) -> dict[str, Any]:
    name = localized(button.name, button.name_en, locale)
    if button.items:
        return {"name": name, "sub_button": [_button(i, locale) for i in button.items]}
    if button.url is not None:
        return {"type": "view", "name": name, "url": button.url}
    if button.key not in MENU_KEYS:
        known = ", ".join(sorted(MENU_KEYS))
        raise ShopFileError(f"wechat.menu: unknown key {button.key!r} (known: {known})")
    return {"type": "click", "name": name, "key": button.key}


async def create_menus(api: WeChatAPI, shop: Shop) -> list[str]:
    """The default menu in the shop's first language, then one per other language where
    WeChat takes it; returns the languages it refused."""
    if not shop.wechat.menu:
        raise ShopFileError("wechat.menu: the shop file has no menu entries")
    first, *others = LOCALES
    await api.create_menu(menu_body(shop, first))
    refused = []
    for locale in others:
        body = menu_body(shop, locale)
        body["matchrule"] = {"language": CONDITIONAL_LANGUAGES.get(locale, locale)}
        try:
            await api.add_conditional_menu(body)
        except WeChatAPIError:
            refused.append(locale)
    return refused


async def store_qrcode(api: WeChatAPI, shop: Shop, store: str) -> bytes:
    """A permanent QR code PNG that makes whoever scans it a member of ``store``."""
    if shop.store(store) is None:
        raise UnknownStore(store=store)
    return qr_png(await api.create_qrcode(STORE_PREFIX + store))


async def send_test(api: WeChatAPI, openid: str, locale: str) -> None:
    text = gettext(locale, "memberbot test message: your official account is connected.")
    await api.send_text(openid, text)
