"""Which push senders a process has: those of the chat channels its web app mounted."""

from __future__ import annotations

from aiohttp import web

from bot.dispatcher import PushChannel
from bot.handlers import telegram, wechat, wechat_messages, wechat_push
from core.context import Context


def from_app(ctx: Context, app: web.Application) -> dict[str, PushChannel]:
    channels: dict[str, PushChannel] = {}
    if telegram.TELEGRAM in app:
        channels[telegram.CHANNEL] = telegram.TelegramPushes(app[telegram.TELEGRAM])
    if wechat.WECHAT_API in app:
        channels[wechat_messages.CHANNEL] = wechat_push.WeChatPushes(ctx, app[wechat.WECHAT_API])
    return channels
