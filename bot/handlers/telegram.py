"""The Telegram channel: aiogram updates → dialog events, dialog replies → Bot API calls.

Buttons become inline keyboards; a payload longer than Telegram's 64 bytes of callback data
travels as a key to the stored payload. Texts are sent as HTML with everything escaped, so
a member called ``<b>*_`` is shown as written. A button press is answered at once (no
spinning button) and edits its own message when the answer is another menu. Each update is
processed once (``storage.inbound_deliveries``), whether it came by webhook or by long polling.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatType, ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetUpdates,
    SendMessage,
    SendPhoto,
)
from aiogram.methods.base import Response
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    TelegramObject,
    Update,
)
from aiohttp import ClientError, web
from pydantic import ValidationError

from bot.dialogs.engine.dialogs import Dialogs, Flow, MenuCommand
from bot.dialogs.engine.types import Event, Payload, Reply, Sender
from bot.handlers import long_text
from bot.i18n import LOCALES, gettext, locale_for_hint
from bot.pushes import dispatcher, texts
from bot.settings import Settings
from core.context import Context
from core.people import conversations
from core.pushes import late_replies
from core.pushes.work_queue import Push, Recipient
from storage import buttons, inbound_deliveries

CHANNEL = "telegram"
CALLBACK_MAX_BYTES = 64
KEY_PREFIX = "k:"  # callback data that names a stored payload
CAPTION_MAX = 1024
TEXT_MAX = 4096  # Telegram's limit for a message's text
log = logging.getLogger(__name__)
# pydantic caches a parametrized generic model only weakly, and aiogram writes
# ``Response[<the method's result>]`` for every call it answers: whenever the garbage
# collector has dropped the class, the next call builds it again (~10 ms of CPU; 120 times
# in 2 000 pushes). Holding the ones of the calls we make keeps them built.
_RESPONSE_TYPES = tuple(
    Response[m.__returning__]  # type: ignore[name-defined]  # built at run time, per method
    for m in (SendMessage, SendPhoto, EditMessageText, AnswerCallbackQuery, GetUpdates)
)


def command_menu(flows: Iterable[Flow]) -> list[MenuCommand]:
    """The bot's command menu: the entries the flows declare, in the order Telegram shows."""
    entries = (entry for flow in flows for entry in flow.command_menu)
    return sorted(entries, key=lambda entry: entry.order)


def create_bot(token: str, api_base: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


class InProgress(Exception):
    """The update is being processed by another worker right now."""


class _Once(BaseMiddleware):
    """Skips an update whose id was seen before (Telegram redelivers what it is unsure of)
    and one too old to be remembered (a replay); one being processed by another worker is
    refused for now (``InProgress``), and one whose worker died is processed."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        now = self.ctx.now()
        dated = event.message or event.my_chat_member  # a button press carries no date
        if dated is not None and now - dated.date > inbound_deliveries.KEPT:
            # Older than any delivery we remember: Telegram keeps an update a day, so this
            # is a replay whose first delivery's record is gone.
            log.warning("telegram update %d is too old: skipped", event.update_id)
            return None
        key = f"update:{event.update_id}"
        earlier = await inbound_deliveries.claim(self.ctx.db, CHANNEL, key, now)
        if earlier is not None and earlier.status == inbound_deliveries.PROCESSING:
            # Another worker is at it. Telegram is told to deliver it again later: by then
            # it is done (and skipped), or its worker died and the update is ours.
            raise InProgress(event.update_id)
        if earlier is not None:
            log.info("telegram update %d delivered again: skipped", event.update_id)
            return None
        try:
            result = await handler(event, data | {"delivery": key})
        except BaseException:
            await inbound_deliveries.release(
                self.ctx.db, CHANNEL, key
            )  # let a redelivery try again
            raise
        # Done: a redelivery is skipped even once this worker is gone.
        await inbound_deliveries.finish(
            self.ctx.db, CHANNEL, key, inbound_deliveries.ANSWERED, None
        )
        return result


async def _in_group(message: Message) -> bool:
    """A coroutine, not a magic filter: aiogram runs a plain callable on a thread, and that
    hop cost every private message more than the check."""
    return message.chat.type != ChatType.PRIVATE


Call = Callable[[int, Callable[[], Awaitable[Any]]], Awaitable[bool]]


async def _raw(_chat_id: int, make: Callable[[], Awaitable[Any]]) -> bool:
    """A push's Bot API call: its errors are the dispatcher's to judge."""
    await make()
    return True


class TelegramChannel:
    """One bot: its dispatcher, and how it talks to the dialogs. ``sleep`` is how a reply
    waits out flood control (injected: tests move a clock instead)."""

    def __init__(
        self,
        ctx: Context,
        dialogs: Dialogs,
        bot: Bot,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.ctx, self.dialogs, self.bot, self.sleep = ctx, dialogs, bot, sleep
        router = Router(name="memberbot")
        router.message.register(self.on_group_message, _in_group)
        router.message.register(self.on_message)
        router.callback_query.register(self.on_button)
        router.my_chat_member.register(self.on_membership)
        self.dispatcher = Dispatcher()
        self.dispatcher.update.outer_middleware(_Once(ctx))
        self.dispatcher.include_router(router)

    async def close(self) -> None:
        await self.bot.session.close()

    async def poll(self) -> None:
        """Long polling until ``stop_polling``: for a shop without a public URL."""
        try:
            await self.bot.delete_webhook()  # Telegram serves getUpdates only without one
        except (TelegramAPIError, ClientError, TimeoutError) as exc:
            log.warning("telegram webhook not removed: %s", exc)
        await self.dispatcher.start_polling(
            self.bot,
            handle_signals=False,
            close_bot_session=False,
            allowed_updates=ALLOWED_UPDATES,
        )

    async def stop_polling(self, task: asyncio.Task[None]) -> None:
        try:
            await self.dispatcher.stop_polling()
        except RuntimeError:  # polling had not started (or already ended)
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def set_commands(self) -> None:
        """The command menu in each language (and the shop's first one for all others)."""
        for index, locale in enumerate(LOCALES):
            commands = [
                BotCommand(command=entry.command, description=gettext(locale, entry.description))
                for entry in command_menu(self.dialogs.served)
            ]
            await self.bot.set_my_commands(commands, language_code=locale.split("_")[0])
            if index == 0:
                await self.bot.set_my_commands(commands)

    # -- updates ----------------------------------------------------------------------

    async def on_message(self, message: Message, delivery: str | None = None) -> None:
        """``delivery`` is the update's key, from ``_Once``: a redelivery has the same."""
        user = message.from_user
        if user is None:
            return
        sender = Sender(CHANNEL, str(user.id), user.language_code)
        event = replace(_event(sender, message), delivery=delivery)
        await self._answer(message.chat.id, await self.dialogs.handle(event))

    async def on_button(self, query: CallbackQuery, delivery: str | None = None) -> None:
        await query.answer()  # first: the button stops spinning whatever happens next
        payload = query.data or ""
        if payload.startswith(KEY_PREFIX):
            payload = await buttons.find(self.ctx.db, payload[len(KEY_PREFIX) :]) or ""
        sender = Sender(CHANNEL, str(query.from_user.id), query.from_user.language_code)
        if Payload.unpack(payload) is None:  # not a button we made: a command is confirmed
            event = Event(sender, text=payload, tapped=True, delivery=delivery)
        else:
            event = Event(sender, payload=payload, delivery=delivery)
        replies = await self.dialogs.handle(event)
        message = query.message
        if not isinstance(message, Message):  # too old for Telegram to show us: answer anew
            await self._answer(query.from_user.id, replies)
            return
        edits = len(replies) == 1 and _edits_in_place(replies[0])
        await self._answer(message.chat.id, replies, edit=message.message_id if edits else None)

    async def on_membership(self, update: ChatMemberUpdated) -> None:
        """Blocking the bot arrives as our membership turning "kicked"."""
        if update.chat.type == ChatType.PRIVATE and update.new_chat_member.status == "kicked":
            await conversations.leave(self.ctx, CHANNEL, str(update.from_user.id))

    async def on_group_message(self, message: Message) -> None:
        """Members' data stays out of groups: say so once per group, then stay silent."""
        key = f"group:{message.chat.id}"
        if await inbound_deliveries.claim(self.ctx.db, CHANNEL, key, self.ctx.now()) is not None:
            return
        await inbound_deliveries.finish(
            self.ctx.db, CHANNEL, key, inbound_deliveries.ANSWERED, None
        )
        hint = message.from_user.language_code if message.from_user else None
        text = gettext(
            locale_for_hint(hint), "I only chat in private: please write to me directly."
        )
        await self._answer(message.chat.id, [Reply(text)])

    # -- replies ----------------------------------------------------------------------

    async def _answer(self, chat_id: int, replies: list[Reply], *, edit: int | None = None) -> None:
        """The replies in order (the first one edited into message ``edit``, if given).
        What Telegram will not take now (flood control beyond ``reply_wait_seconds``, a
        server or network failure) goes through the outbox with the replies after it, so
        it still arrives, in order; a reply cut there arrives whole."""
        for index, reply in enumerate(replies):
            try:
                if not await self._send(chat_id, reply, edit=edit if index == 0 else None):
                    return
            except TelegramRetryAfter as exc:
                reason = f"telegram: retry after {exc.retry_after} s"
                await self._send_later(chat_id, replies[index:], exc.retry_after, reason)
                return
            except (TelegramServerError, TelegramNetworkError, ClientError, TimeoutError) as exc:
                await self._send_later(chat_id, replies[index:], 0, f"telegram: {exc}")
                return

    async def _send_later(
        self, chat_id: int, replies: list[Reply], after: float, reason: str
    ) -> None:
        at = self.ctx.now() + timedelta(seconds=after)
        kept = texts.reply_params(replies)
        if await late_replies.send_later(
            self.ctx, CHANNEL, str(chat_id), kept, at=at, reason=reason
        ):
            log.warning(
                "telegram chat %d: %d replies go as pushes (%s)", chat_id, len(kept), reason
            )
        else:  # a group's notice: no chat account to address it to
            log.warning("telegram chat %d: reply not sent (%s)", chat_id, reason)

    async def _send(
        self, chat_id: int, reply: Reply, *, edit: int | None = None, call: Call | None = None
    ) -> bool:
        """One reply as one message (a photo with its caption, or text), or a text too
        long for one as several, the buttons under the last, then its map pin if it has
        one; False once the chat cannot be reached. Each Bot API call goes through ``call``
        (a reply's ``_call`` by default)."""
        call = call or self._call
        if not await self._send_message(chat_id, reply, edit=edit, call=call):
            return False
        if reply.location is None:
            return True
        pin = reply.location
        return await call(
            chat_id, partial(self.bot.send_location, chat_id, pin.latitude, pin.longitude)
        )

    async def _send_message(
        self, chat_id: int, reply: Reply, *, edit: int | None, call: Call
    ) -> bool:
        *before, text = _texts(reply)
        if before:
            edit = None  # one message cannot be edited into several
        for part in before:
            if not await call(chat_id, partial(self.bot.send_message, chat_id, part)):
                return False
        markup = await self._markup(reply)
        if edit is not None:
            assert markup is None or isinstance(markup, InlineKeyboardMarkup)
            return await call(
                chat_id,
                partial(
                    self.bot.edit_message_text,
                    text,
                    chat_id=chat_id,
                    message_id=edit,
                    reply_markup=markup,
                ),
            )
        if reply.image is None:
            return await call(
                chat_id, partial(self.bot.send_message, chat_id, text, reply_markup=markup)
            )
        photo = BufferedInputFile(reply.image, filename=reply.image_name)
        if len(text) > CAPTION_MAX:
            if not await call(chat_id, partial(self.bot.send_message, chat_id, text)):
                return False
            text = ""
        return await call(
            chat_id,
            partial(self.bot.send_photo, chat_id, photo, caption=text or None, reply_markup=markup),
        )

    async def push(self, chat_id: int, reply: Reply) -> None:
        """A message nobody asked for (the dispatcher's): API errors are the caller's."""
        await self._send(chat_id, reply, call=_raw)

    async def _markup(self, reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
        if reply.phone_button is not None:
            share = KeyboardButton(text=reply.phone_button, request_contact=True)
            return ReplyKeyboardMarkup(
                keyboard=[[share]], resize_keyboard=True, one_time_keyboard=True
            )
        if not reply.buttons:
            return None
        rows = [
            [
                InlineKeyboardButton(
                    text=b.label, callback_data=await self._callback_data(b.payload)
                )
                for b in row
            ]
            for row in reply.buttons
        ]
        return InlineKeyboardMarkup(inline_keyboard=rows)

    async def _callback_data(self, payload: str) -> str:
        if len(payload.encode()) <= CALLBACK_MAX_BYTES and not payload.startswith(KEY_PREFIX):
            return payload
        return KEY_PREFIX + await buttons.keep(self.ctx.db, payload, self.ctx.now())

    async def _call(self, chat_id: int, make: Callable[[], Awaitable[Any]]) -> bool:
        """Run one Bot API call of a reply; a blocked bot or a vanished chat makes the
        account unreachable, a message refused is logged (aiogram's messages carry no
        token). Flood control is waited out, as asked, up to ``reply_wait_seconds`` in all;
        beyond that, and on a server or network failure, the error is the caller's."""
        waited = 0.0
        while True:
            try:
                await make()
            except TelegramRetryAfter as exc:
                waited += exc.retry_after
                if waited > self.ctx.shop.pushes.reply_wait_seconds:
                    raise
                log.info("telegram rate limit: reply waits %d s", exc.retry_after)
                await self.sleep(exc.retry_after)
                continue
            except (TelegramServerError, TelegramNetworkError):
                raise
            except TelegramForbiddenError as exc:
                log.info("telegram chat %d unreachable: %s", chat_id, exc.message)
                await conversations.leave(self.ctx, CHANNEL, str(chat_id))
                return False
            except TelegramBadRequest as exc:
                if "chat not found" in exc.message.lower():
                    await conversations.leave(self.ctx, CHANNEL, str(chat_id))
                    return False
                if "message is not modified" not in exc.message.lower():
                    log.warning("telegram refused a message: %s", exc.message)
            except TelegramAPIError as exc:
                log.warning("telegram error: %s", exc.message)
            return True


class TelegramPushes:
    """The dispatcher's sender for Telegram: Bot API errors as the dispatcher's kinds."""

    def __init__(self, channel: TelegramChannel) -> None:
        self.channel = channel

    async def send(
        self, recipient: Recipient, message: texts.Message, via: str, push: Push
    ) -> None:
        for reply in message.replies:
            try:
                await self.channel.push(int(recipient.external_id), reply)
            except TelegramRetryAfter as exc:
                raise dispatcher.RetryAfter(exc.retry_after) from None
            except TelegramForbiddenError as exc:
                raise dispatcher.Unreachable(exc.message) from None
            except TelegramBadRequest as exc:
                if "chat not found" in exc.message.lower():
                    raise dispatcher.Unreachable(exc.message) from None
                raise dispatcher.Rejected(exc.message) from None
            except (TelegramServerError, TelegramNetworkError, ClientError, TimeoutError) as exc:
                raise dispatcher.Temporary(f"telegram: {exc}") from None
            except TelegramAPIError as exc:  # e.g. a wrong token: the operator must act
                raise dispatcher.Temporary(f"telegram: {exc.message}") from None


def _event(sender: Sender, message: Message) -> Event:
    if message.contact is not None:
        user = message.from_user
        if user is not None and message.contact.user_id == user.id:
            return Event(sender, phone=message.contact.phone_number)
        return Event(sender, media="contact")  # someone else's: refused
    if message.text is not None:
        return Event(sender, text=_without_bot_name(message.text))
    return Event(sender, media=str(message.content_type))


def _texts(reply: Reply) -> list[str]:
    """The reply's text as the messages it takes (Telegram's limit counts the text shown,
    so it is cut before HTML-escaping), escaped for HTML."""
    parts = long_text.split(reply.text, TEXT_MAX, long_text.utf16_units)
    return [html.escape(part, quote=False) for part in parts]


def _without_bot_name(text: str) -> str:
    """A command addressed to the bot ("/points@shop_bot", as Telegram writes one picked
    from a menu) is the command."""
    command, space, rest = text.partition(" ")
    if command.startswith("/") and "@" in command:
        command = command.split("@", 1)[0]
    return command + space + rest


def _edits_in_place(reply: Reply) -> bool:
    """Another menu replaces the one pressed; anything else is news and gets its own message
    (so a second tap's "already done" never overwrites the first tap's coupon code)."""
    return bool(reply.buttons) and reply.image is None and reply.phone_button is None


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


class Webhook:
    """The webhook endpoint: only Telegram knows the secret token set with the webhook."""

    def __init__(self, channel: TelegramChannel, secret: str) -> None:
        self.channel, self.secret = channel, secret

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("telegram webhook refused: wrong or missing secret token")
            return web.Response(status=403, text="forbidden")
        if request.content_type != "application/json":  # what Telegram posts
            return web.Response(status=415, text="not JSON")
        try:
            update = Update.model_validate(await request.json(), context={"bot": self.channel.bot})
        except (ValueError, ValidationError):
            return web.Response(status=400, text="not a Telegram update")
        try:
            await self.channel.dispatcher.feed_update(self.channel.bot, update)
        except InProgress:
            return web.Response(status=503, text="in progress")  # Telegram delivers it again
        except Exception:
            log.exception("telegram update %d failed", update.update_id)
            return web.Response(status=500, text="try again")  # Telegram delivers it again
        return web.json_response({})


def connect(ctx: Context, dialogs: Dialogs, settings: Settings) -> TelegramChannel:
    """The channel of the settings' bot."""
    bot = create_bot(settings.telegram_token.get_secret_value(), settings.telegram_api_base)
    return TelegramChannel(ctx, dialogs, bot)


def mount(app: web.Application, channel: TelegramChannel, settings: Settings) -> None:
    """The channel's webhook (with a secret); the command menu at start-up."""
    secret = settings.telegram_webhook_secret.get_secret_value()
    if secret:
        app.router.add_post(settings.telegram_path, Webhook(channel, secret).receive)

    async def set_commands() -> None:
        try:
            await channel.set_commands()
        except (TelegramAPIError, ClientError, TimeoutError) as exc:
            log.warning("telegram command menu not set: %s", exc)

    async def lifetime(_app: web.Application) -> AsyncIterator[None]:
        # In the background: an unreachable Telegram must not hold up the server's start.
        task = asyncio.create_task(set_commands())
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    app.cleanup_ctx.append(lifetime)
