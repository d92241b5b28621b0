"""The dispatcher's sender for WeChat: customer-service messages inside the reply window,
template messages for service kinds outside it (``core.pushes.routes`` decides which), and
WeChat's error codes as the dispatcher's kinds of failure."""

from __future__ import annotations

from aiohttp import ClientError

from bot.handlers.wechat_api import WeChatAPI, WeChatAPIError
from bot.handlers.wechat_messages import CHANNEL, render, template_data
from bot.pushes import dispatcher, texts
from core.context import Context
from core.people import conversations
from core.pushes.routes import WECHAT_TEMPLATE
from core.pushes.work_queue import Push, Recipient

UNREACHABLE = frozenset({43004, 40003, 43019})  # unfollowed / not this account's user / blocked
WINDOW_CLOSED = frozenset({45015, 45047})  # reply window over / customer-service quota used
TEMPORARY = frozenset({-1, 45009, 45011})  # system busy / API rate limits


class WeChatPushes:
    def __init__(self, ctx: Context, api: WeChatAPI) -> None:
        self.ctx, self.api = ctx, api

    async def send(
        self, recipient: Recipient, message: texts.Message, via: str, push: Push
    ) -> None:
        openid = recipient.external_id
        try:
            if via == WECHAT_TEMPLATE:
                template = template_data(self.ctx.shop, push.kind, message.values)
                if template is None:  # the shop file changed since the route was chosen
                    raise dispatcher.WindowClosed("no template configured")
                await self.api.send_template(
                    openid, template.template_id, template.data, template.url
                )
                return
            parts, choices = render(message.replies, conversations.link_scope(CHANNEL, openid))
            if (
                choices
            ):  # typed numbers answer this message's choices from now on; its links, always
                await conversations.save_choices(self.ctx, CHANNEL, openid, choices)
            for part in parts:
                if part.image is not None:
                    media_id = await self.api.upload_image(part.image, part.image_name)
                    await self.api.send_image(openid, media_id)
                else:
                    await self.api.send_text(openid, part.text)
        except WeChatAPIError as exc:
            if exc.errcode in UNREACHABLE:
                raise dispatcher.Unreachable(str(exc)) from None
            if exc.errcode in WINDOW_CLOSED:
                raise dispatcher.WindowClosed(str(exc)) from None
            if exc.errcode in TEMPORARY:
                raise dispatcher.Temporary(str(exc)) from None
            raise dispatcher.Rejected(str(exc)) from None
        except (ClientError, TimeoutError) as exc:
            raise dispatcher.Temporary(f"wechat: {type(exc).__name__}: {exc}") from None
