"""A person when asked (人工客服, 转人工, "talk to a human"): the member's chat with staff.

Asking opens the member's handoff (or continues the open one) and says how to leave it;
outside opening hours it also says when someone will reply. From then on each message —
text, or "[image]" and the like for what the bot cannot read — goes to the staff of the
member's store (``core.service.handoff``), until the member ends the chat (结束, 取消,
"end chat") or staff close it. Staff answers come back as pushes, with a button to reply.
"""

from __future__ import annotations

from bot.dialogs.engine.dialogs import START, Flow, Menu, MenuCommand, Turn
from bot.dialogs.engine.types import Button, Payload, Reply, Step, buttons
from bot.dialogs.engine.waiting import Expects
from bot.dialogs.member import help
from bot.dialogs.member.feedback import too_long
from bot.i18n import N_, localized
from core.audit import member_actor
from core.errors import DomainError, HandoffClosed
from core.service import handoff
from core.service.handoff import TEXT_MAX, HandoffView

NAME = "handoff"
CHAT, END = "chat", "end"
# Messages that end the chat, as a whole message (punctuation and case aside).
END_WORDS = frozenset(
    {"结束", "结束对话", "结束聊天", "取消", "退出", "再见", "end", "end chat", "cancel", "stop"}
    | {"quit", "exit", "bye"}
)
MEDIA_TEXTS = {  # what staff read for a message the bot cannot show them
    "image": "[image]",
    "voice": "[voice]",
    "video": "[video]",
    "location": "[location]",
    "file": "[file]",
    "sticker": "[sticker]",
    "contact": "[contact]",
}
KEYWORDS = (
    "人工客服",
    "转人工",
    "人工服务",
    "找人工",
    "真人",
    "客服",
    "talk to a human",
    "talk to a person",
    "speak to a human",
    "real person",
    "human",
    "customer service",
    "live agent",
    "agent",
)


def _end_button(turn: Turn) -> Button:
    return Payload(NAME, END).button(turn._("End chat"))


def _again_buttons(turn: Turn) -> tuple[tuple[Button, ...], ...]:
    return buttons(
        [Payload(NAME, START).button(turn._("Talk to a person"))],
        [Payload(help.NAME, START).button(turn._("Menu"))],
    )


def _ends(text: str) -> bool:
    word = text.strip().strip("。.!！~～ ").casefold()
    return word in END_WORDS


def _when_staff_reply(turn: Turn, view: HandoffView) -> str:
    """Outside opening hours: when the store opens and someone will reply; else nothing."""
    ctx = turn.ctx
    found = handoff.reply_after(ctx.shop, handoff.stores_of(ctx, view), ctx.now(), ctx.zone)
    if found is None:
        return ""
    store, opens = found
    name = localized(store.name, store.name_en, turn.locale)
    return turn._(
        "Our staff are not in right now: {store} opens {moment}, and someone will reply "
        "to you then.",
        store=name,
        moment=turn.moment(opens),
    )


def _typed_ask(turn: Turn) -> str | None:
    """The words that asked for a person ("转人工，我的积分不对"), as staff should read them
    first; None when a button, menu or command asked (those carry no words of the member's)."""
    event = turn.event
    if turn.payload is not None or event.menu or event.start is not None or event.tapped:
        return None
    text = turn.text
    return text if text and not text.startswith("/") and len(text) <= TEXT_MAX else None


async def start(turn: Turn) -> Step:
    assert turn.member is not None
    view, opened = await handoff.open_handoff(turn.ctx, turn.member.id)
    if (asked := _typed_ask(turn)) is not None:  # staff learn at once that someone waits
        view = await handoff.member_says(turn.ctx, turn.member.id, asked)
    if opened:
        lines = [
            turn._(
                "You are now chatting with our staff: write your message here and they will "
                "answer in this chat."
            )
        ]
    else:
        lines = [turn._("Your chat with our staff is still open: write your message here.")]
    if asked is not None:
        lines.append(turn._("Your message was passed on to them."))
    lines.append(turn._("To end the chat, send \u201cend chat\u201d or tap the button."))
    if note := _when_staff_reply(turn, view):
        lines.append(note)
    return Step([Reply("\n".join(lines), buttons([_end_button(turn)]))], next=CHAT)


async def _end(turn: Turn) -> Step:
    assert turn.member is not None
    view = await handoff.open_handoff_of(turn.ctx, turn.member.id)
    if view is not None:
        await handoff.close_handoff(turn.ctx, view.id, actor=member_actor(turn.member.id))
    text = turn._("The chat with our staff has ended. Thank you!")
    return Step([Reply(text, _again_buttons(turn))])


async def chat(turn: Turn) -> Step:
    """One message of the member's, to staff (the raw text: one over the limit is refused,
    never cut)."""
    assert turn.member is not None
    if turn.payload is not None:  # this flow's only button here is "End chat"
        return await _end(turn)
    media = turn.event.media
    text = MEDIA_TEXTS.get(media, f"[{media}]") if media else turn.event.text.strip()
    if not media and _ends(text):
        return await _end(turn)
    if (refusal := too_long(turn, text, TEXT_MAX)) is not None:
        return Step([refusal], next=CHAT)
    try:
        await handoff.member_says(turn.ctx, turn.member.id, text)
    except HandoffClosed:
        text = turn._(
            "Our staff have closed this chat, so your message was not sent. To talk to a "
            "person again, tap the button."
        )
        return Step([Reply(text, _again_buttons(turn))])
    except DomainError as error:  # an empty message, say: the chat stays open
        return Step([Reply(turn.describe(error), buttons([_end_button(turn)]))], next=CHAT)
    return Step([Reply(turn._("Sent to our staff."), buttons([_end_button(turn)]))], next=CHAT)


flow = Flow(
    name=NAME,
    start=start,
    steps={CHAT: chat, END: chat},
    stateless=frozenset({END}),
    media_steps=frozenset({CHAT}),
    expects={CHAT: Expects.CHAT},
    commands=("/human",),
    keywords=KEYWORDS,
    precedence=5,  # before help: "I need help from a human" wants the human
    menu=Menu(N_("Talk to a person"), order=95),
    command_menu=(MenuCommand("human", N_("Talk to a person"), order=75),),
)
FLOWS = (flow,)
