"""Which push senders a process has: each chat channel the web app mounts offers its own.

Nothing here imports the channels, so a process loads only those the shop configured:
aiogram alone takes ~130 MB and ~4 s to import, which a shop without Telegram need not pay.
"""

from __future__ import annotations

from aiohttp import web

from bot.pushes.dispatcher import PushChannel

PUSH_CHANNELS = web.AppKey("push_channels", dict[str, PushChannel])


def offer(app: web.Application, name: str, channel: PushChannel) -> None:
    """Called by a channel's ``mount``: ``channel`` sends this app's pushes on ``name``."""
    app.setdefault(PUSH_CHANNELS, {})[name] = channel


def from_app(app: web.Application) -> dict[str, PushChannel]:
    offered: dict[str, PushChannel] = app.get(PUSH_CHANNELS, {})
    return dict(offered)
