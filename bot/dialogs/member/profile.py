"""My profile: see what the shop knows about me, change it, link another chat app, choose
the language, stop marketing, invite friends (bot.dialogs.member.invite), or delete my data.

The profile's buttons are ``stateless`` (they work whenever pressed, also on an old
message); typing a new value waits in a step. Deleting asks twice, and the last answer is
a ``once`` step.
"""

from __future__ import annotations

from datetime import date
from typing import TypedDict, Unpack

from bot.dialogs.engine.dialogs import START, Flow, Menu, MenuCommand, Turn
from bot.dialogs.engine.types import Payload, Reply, Step, buttons
from bot.dialogs.engine.waiting import Expects
from bot.dialogs.member import invite
from bot.dialogs.member.registration import LANGUAGE_NAMES, typed_birthday, typed_phone
from bot.error_texts import describe
from bot.i18n import LOCALES, N_
from core import audit
from core.errors import BirthdayLocked
from core.people.erasure import delete_member
from core.people.members import (
    MemberView,
    create_link_code,
    mask_phone,
    update_member,
)

NAME = "profile"
LANGUAGE = "language"
EDIT, MARKETING, LANG, LINK, DELETE = "edit", "marketing", "lang", "link", "delete"
NEW_NAME, NEW_PHONE, NEW_BIRTHDAY = "name", "phone", "birthday"
DELETE_SURE, DELETE_FINAL = "delete_sure", "delete_final"
ON, OFF, YES = "on", "off", "yes"


def _member(turn: Turn) -> MemberView:
    assert turn.member is not None
    return turn.member


async def show(turn: Turn) -> Step:
    return Step([_profile(turn)])


def _profile(turn: Turn, note: str = "") -> Reply:
    member = _member(turn)
    birthday = turn.day(member.birthday) if member.birthday else turn._("not given")
    lines = [note] if note else []
    lines += [
        turn._("Member number: {member_no}", member_no=member.member_no),
        turn._("Name: {name}", name=member.name),
        turn._("Mobile: {phone}", phone=mask_phone(member.phone) or turn._("not given")),
        turn._("Birthday: {birthday}", birthday=birthday),
        turn._("Language: {language}", language=LANGUAGE_NAMES.get(member.locale, "")),
        turn._("Offers and news: on")
        if member.marketing_consent
        else turn._("Offers and news: off"),
    ]
    edits = [
        Payload(NAME, EDIT, NEW_NAME).button(turn._("Edit name")),
        Payload(NAME, EDIT, NEW_PHONE).button(turn._("Edit mobile")),
    ]
    if not member.birthday_locked:
        edits.append(Payload(NAME, EDIT, NEW_BIRTHDAY).button(turn._("Edit birthday")))
    marketing = (
        Payload(NAME, MARKETING, OFF).button(turn._("Stop offers and news"))
        if member.marketing_consent
        else Payload(NAME, MARKETING, ON).button(turn._("Receive offers and news"))
    )
    return Reply(
        "\n".join(lines),
        buttons(
            edits,
            [marketing, Payload(NAME, LANG).button(turn._("Language"))],
            [Payload(invite.NAME, START).button(turn._("Invite friends"))],
            [
                Payload(NAME, LINK).button(turn._("Link another chat app")),
                Payload(NAME, DELETE).button(turn._("Delete my data")),
            ],
        ),
    )


async def edit(turn: Turn) -> Step:
    field = turn.payload.value if turn.payload else ""
    if field == NEW_NAME:
        return Step([Reply(turn._("Please type your new name."))], next=NEW_NAME)
    if field == NEW_PHONE:
        text = turn._("Please type your new mobile number (or share your contact).")
        return Step([Reply(text, phone_button=turn._("Share my phone"))], next=NEW_PHONE)
    if field == NEW_BIRTHDAY:
        if _member(turn).birthday_locked:
            return Step([Reply(describe(BirthdayLocked(), turn.locale))])
        text = turn._("Please type your birthday (e.g. 1990-05-01). It can be changed only once.")
        return Step([Reply(text)], next=NEW_BIRTHDAY)
    return await show(turn)


class _Change(TypedDict, total=False):
    """What a member may change here, as ``update_member`` takes it."""

    name: str
    phone: str
    birthday: str | date
    locale: str
    marketing_consent: bool


async def _saved(turn: Turn, **change: Unpack[_Change]) -> Step:
    member = _member(turn)
    turn.member = await update_member(
        turn.ctx, member.id, actor=audit.member_actor(member.id), **change
    )
    turn.locale = turn.member.locale
    return Step([_profile(turn, turn._("Saved."))])


async def new_name(turn: Turn) -> Step:
    return await _saved(turn, name=turn.text)


async def new_phone(turn: Turn) -> Step:
    # update_member validates; a number that is not valid keeps the step open.
    if turn.event.phone is None and not turn.text:
        return await edit_again(turn, NEW_PHONE)
    return await _saved(turn, phone=turn.event.phone or typed_phone(turn))


async def new_birthday(turn: Turn) -> Step:
    if not turn.text:
        return await edit_again(turn, NEW_BIRTHDAY)
    try:
        return await _saved(turn, birthday=typed_birthday(turn))
    except BirthdayLocked as error:
        return Step([Reply(describe(error, turn.locale))])


async def edit_again(turn: Turn, field: str) -> Step:
    """An empty message: ask for the value again."""
    turn.payload = Payload(NAME, EDIT, field)
    return await edit(turn)


async def marketing(turn: Turn) -> Step:
    if turn.payload is None:
        return await show(turn)
    return await _saved(turn, marketing_consent=turn.payload.value == ON)


async def language(turn: Turn) -> Step:
    """Offer the languages (``/lang``); a chosen one is saved at once."""
    chosen = turn.payload.value if turn.payload and turn.payload.action == LANG else ""
    if chosen in LOCALES:
        return await _saved(turn, locale=chosen)
    choices = [Payload(NAME, LANG, locale).button(LANGUAGE_NAMES[locale]) for locale in LOCALES]
    return Step([Reply(turn._("Which language would you like?"), buttons(choices))])


async def link(turn: Turn) -> Step:
    member = _member(turn)
    code = await create_link_code(turn.ctx, member.id)
    text = turn._(
        "Your link code is {code}. In the other chat app (our WeChat account or Telegram "
        "bot), send: /start link-{code}\nThe code works once, until {until}.",
        code=code.code,
        until=turn.moment(code.expires_at),
    )
    return Step([Reply(text)])


async def delete(turn: Turn) -> Step:
    text = turn._(
        "Delete your data? Your name, mobile number, birthday and feedback will be erased, "
        "and your points and coupons can no longer be used."
    )
    return Step(
        [
            Reply(
                text,
                buttons(
                    [
                        Payload(NAME, DELETE_SURE, YES).button(turn._("Yes, delete")),
                        Payload(NAME, START).button(turn._("Cancel")),
                    ]
                ),
            )
        ],
        next=DELETE_SURE,
    )


async def delete_sure(turn: Turn) -> Step:
    if turn.payload is None or turn.payload.value != YES:
        return await show(turn)  # anything typed instead cancels
    text = turn._("Are you sure? This cannot be undone.")
    return Step(
        [
            Reply(
                text,
                buttons(
                    [
                        Payload(NAME, DELETE_FINAL, YES).button(turn._("Delete everything")),
                        Payload(NAME, START).button(turn._("Cancel")),
                    ]
                ),
            )
        ],
        next=DELETE_FINAL,
    )


async def delete_final(turn: Turn) -> Step:
    if turn.payload is None or turn.payload.value != YES:
        return await show(turn)
    member = _member(turn)
    await delete_member(turn.ctx, member.id, actor=audit.member_actor(member.id))
    turn.member = None
    text = turn._(
        "Your data has been deleted. Thank you for having been with us; you are welcome "
        "back any time."
    )
    return Step([Reply(text)])


flow = Flow(
    name=NAME,
    start=show,
    steps={
        EDIT: edit,
        MARKETING: marketing,
        LANG: language,
        LINK: link,
        DELETE: delete,
        NEW_NAME: new_name,
        NEW_PHONE: new_phone,
        NEW_BIRTHDAY: new_birthday,
        DELETE_SURE: delete_sure,
        DELETE_FINAL: delete_final,
    },
    stateless=frozenset({EDIT, MARKETING, LANG, LINK, DELETE}),
    once=frozenset({DELETE_FINAL}),
    expects={NEW_BIRTHDAY: Expects.DATE},
    commands=("/profile",),
    keywords=("资料", "profile", "我的信息"),
    precedence=80,
    menu=Menu(N_("My profile"), order=100),
    command_menu=(MenuCommand("profile", N_("My profile"), order=80),),
)

# "/lang" (or "语言") offers the languages; the choice is saved by the profile flow.
language_flow = Flow(
    name=LANGUAGE,
    start=language,
    commands=("/lang", "/language"),
    keywords=("语言", "language"),
    precedence=90,
    command_menu=(MenuCommand("lang", N_("Language"), order=90),),
)
FLOWS = (flow, language_flow)
