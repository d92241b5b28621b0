"""Becoming a member: welcome and privacy notice, name, phone, birthday, confirmation.

Nothing is stored until the person confirms: the answers wait in the conversation's data
(which survives a restart), and a double tap on "Confirm" registers once.

A first contact through a store's QR code or link makes that store the home store; a
link code attaches the chat account to an existing member instead (see ``deeplinks``).
A member's invite (``ref-CODE`` in the link or QR code, or the code typed at the summary —
no extra step for anyone without one) counts the new member as invited by them
(core.engagement.referrals); an invite that cannot count is said at once and dropped.
"""

from __future__ import annotations

from datetime import date

from bot.dialogs.engine import deeplinks
from bot.dialogs.engine.dialogs import START, Flow, Turn
from bot.dialogs.engine.types import Payload, Reply, Step, buttons
from bot.dialogs.engine.waiting import Expects
from bot.dialogs.member import help
from bot.i18n import LOCALES, localized
from core.engagement import referrals
from core.errors import (
    AlreadyReferred,
    InvalidBirthday,
    InvalidPhone,
    InviteCodeInvalid,
    LinkCodeInvalid,
    PhoneTaken,
    SelfReferral,
)
from core.people.erasure import forget_account
from core.people.members import (
    clean_name,
    find_members,
    link_identity,
    mask_phone,
    normalize_phone,
    parse_birthday,
)
from core.people.registration import register_member

NAME = "registration"
CONSENT, ASK_NAME, ASK_PHONE, ASK_BIRTHDAY, CONFIRM = (
    "consent",
    "name",
    "phone",
    "birthday",
    "confirm",
)
AGREE, DECLINE, SKIP, YES = "agree", "decline", "skip", "yes"
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}  # each in its own language
TYPED_MAX = 20  # longer input is not a phone number or a date; echo only this much
INVITE_KEYS = ("invite", "inviter", "invited_via")
KEPT_ON_RESTART = ("locale", "home_store", *INVITE_KEYS)
INVITE_REFUSED = (InviteCodeInvalid, SelfReferral, AlreadyReferred)


async def start(turn: Turn) -> Step:
    """Welcome, privacy notice and consent; also where "Start over" comes back to."""
    kept = {key: turn.data[key] for key in KEPT_ON_RESTART if key in turn.data}
    turn.data.clear()
    turn.data.update(kept)
    turn.data.setdefault("locale", turn.locale)  # the platform's hint, unless one was chosen
    code = deeplinks.link_code(turn)
    if code is not None:
        try:
            return await _link(turn, code)
        except LinkCodeInvalid as error:
            # An old or mistyped link: say so, and offer to register instead.
            return Step([Reply(turn.describe(error)), _welcome(turn)], next=CONSENT)
    store = deeplinks.store_code(turn)
    if store is not None:
        turn.data["home_store"] = store
    invite = deeplinks.invite_code(turn)
    if invite is not None:
        via = "qr" if turn.identity.channel == "wechat" else "link"
        try:
            await _take_invite(turn, invite, via)
        except InviteCodeInvalid as error:
            return Step([Reply(turn.describe(error)), _welcome(turn)], next=CONSENT)
    return Step([_welcome(turn)], next=CONSENT)


async def _take_invite(turn: Turn, code: str, via: str) -> None:
    """Keep an invite that may count (with the phone, once it is known), else raise why not."""
    referrer = await referrals.check_invite(turn.ctx, code, turn.data.get("phone"))
    turn.data.update(invite=referrer.code, inviter=referrer.name, invited_via=via)


async def _invite_refused(turn: Turn) -> Reply | None:
    """The invite of the link, checked again now that the phone is known; dropped (and the
    reason said) when it cannot count."""
    if not turn.data.get("invite"):
        return None
    try:
        await _take_invite(turn, str(turn.data["invite"]), str(turn.data["invited_via"]))
    except INVITE_REFUSED as error:
        for key in INVITE_KEYS:
            turn.data.pop(key, None)
        return Reply(turn.describe(error))
    return None


async def _link(turn: Turn, code: str) -> Step:
    member = await link_identity(turn.ctx, code, turn.identity.channel, turn.identity.external_id)
    turn.member, turn.locale = member, member.locale
    text = turn._(
        "Welcome back, {name}! This chat is now linked to your membership {member_no}.",
        name=member.name,
        member_no=member.member_no,
    )
    return Step([Reply(text, help.menu_buttons(turn))])


def _welcome(turn: Turn) -> Reply:
    shop = turn.ctx.shop.shop
    lines = [
        turn._(
            "Welcome to {shop}! Join our membership to collect points and receive coupons.",
            shop=localized(shop.name, shop.name_en, turn.locale),
        ),
        turn._(
            "Privacy: we keep your name, mobile number and (if you give it) your birthday "
            "to run your membership — points, coupons and birthday wishes. We send no "
            "advertising unless you allow it. You can see, change or delete your data at any "
            "time under “My profile”."
        ),
        turn._("Do you agree?"),
    ]
    other = [locale for locale in LOCALES if locale != turn.locale]
    return Reply(
        "\n\n".join(lines),
        buttons(
            [
                Payload(NAME, CONSENT, AGREE).button(turn._("Agree")),
                Payload(NAME, CONSENT, DECLINE).button(turn._("Decline")),
            ],
            [Payload(NAME, CONSENT, locale).button(LANGUAGE_NAMES[locale]) for locale in other],
        ),
    )


async def consent(turn: Turn) -> Step:
    choice = turn.payload.value if turn.payload else ""
    if choice in LOCALES:
        turn.data["locale"] = turn.locale = choice
        return Step([_welcome(turn)], next=CONSENT)
    if choice == DECLINE:
        await forget_account(turn.ctx, turn.identity.channel, turn.identity.external_id)
        text = turn._(
            "No problem — nothing about you was stored. If you change your mind, just send "
            "us a message. Goodbye!"
        )
        return Step([Reply(text)])
    if choice == AGREE:
        return Step([Reply(turn._("What is your name?"))], next=ASK_NAME)
    return Step([_welcome(turn)], next=CONSENT)


async def ask_name(turn: Turn) -> Step:
    turn.data["name"] = clean_name(turn.text)
    return _ask_phone(turn)


def _ask_phone(turn: Turn) -> Step:
    text = turn._(
        "Thank you, {name}. What is your mobile number? (You can also share your contact.)",
        name=turn.data["name"],
    )
    return Step([Reply(text, phone_button=turn._("Share my phone"))], next=ASK_PHONE)


def typed_phone(turn: Turn) -> str:
    """The typed text as a phone number; nonsense of any length is echoed back short."""
    text = turn.text
    if len(text) > TYPED_MAX:
        raise InvalidPhone(value=text[:TYPED_MAX] + "…")
    return normalize_phone(text)


def typed_birthday(turn: Turn) -> str:
    text = turn.text
    if len(text) > TYPED_MAX:
        raise InvalidBirthday(value=text[:TYPED_MAX] + "…")
    return parse_birthday(text, turn.ctx.today()).isoformat()


async def ask_phone(turn: Turn) -> Step:
    shared = turn.event.phone
    verified = shared is not None
    if shared is None and not turn.text:
        return _ask_phone(turn)
    phone = normalize_phone(shared) if shared is not None else typed_phone(turn)
    if not verified and any(m.phone == phone for m in await find_members(turn.ctx, phone)):
        # Said now rather than after the birthday; a shared (verified) contact may claim
        # a member the shop imported, so it is let through.
        raise PhoneTaken(phone=mask_phone(phone))
    turn.data["phone"], turn.data["phone_verified"] = phone, verified
    step = _ask_birthday(turn)
    refused = await _invite_refused(turn)
    if refused is not None:
        step.replies.insert(0, refused)
    return step


def _ask_birthday(turn: Turn) -> Step:
    text = turn._("When is your birthday? (e.g. 1990-05-01) We have a gift for you on the day.")
    skip = Payload(NAME, ASK_BIRTHDAY, SKIP).button(turn._("Skip"))
    return Step([Reply(text, buttons([skip]))], next=ASK_BIRTHDAY)


async def ask_birthday(turn: Turn) -> Step:
    if turn.payload is not None and turn.payload.value == SKIP:
        turn.data["birthday"] = None
    elif not turn.text:
        return _ask_birthday(turn)
    else:
        turn.data["birthday"] = typed_birthday(turn)
    return _summary(turn)


def _summary(turn: Turn) -> Step:
    data = turn.data
    birthday = data.get("birthday")
    lines = [
        turn._("Please check your details:"),
        turn._("Name: {name}", name=data["name"]),
        turn._("Mobile: {phone}", phone=data["phone"]),
        turn._(
            "Birthday: {birthday}",
            birthday=turn.day(date.fromisoformat(birthday)) if birthday else turn._("not given"),
        ),
        turn._("Language: {language}", language=LANGUAGE_NAMES[turn.locale]),
        turn._("Invited by: {name}", name=data["inviter"])
        if data.get("invite")
        else turn._("Invited by a friend? Type their invite code now."),
    ]
    return Step(
        [
            Reply(
                "\n".join(lines),
                buttons(
                    [
                        Payload(NAME, CONFIRM, YES).button(turn._("Confirm")),
                        Payload(NAME, START).button(turn._("Start over")),
                    ]
                ),
            )
        ],
        next=CONFIRM,
    )


async def confirm(turn: Turn) -> Step:
    """The one place that stores anything; a ``once`` step, so a double tap registers once."""
    if turn.payload is None and referrals.normalize_invite_code(turn.text):
        return await _typed_invite(turn)
    if turn.payload is None or turn.payload.value != YES:
        return _summary(turn)  # typed text: show the summary and its buttons again
    data = turn.data
    try:
        member = await register_member(
            turn.ctx,
            name=data["name"],
            phone=data["phone"],
            birthday=data.get("birthday"),
            locale=turn.locale,
            home_store=data.get("home_store"),
            marketing_consent=False,
            channel=turn.identity.channel,
            external_id=turn.identity.external_id,
            phone_verified=bool(data.get("phone_verified")),
            invite_code=data.get("invite"),
            invited_via=str(data.get("invited_via", "code")),
        )
    except PhoneTaken as error:
        # Someone registered this number meanwhile: keep the other answers, ask again.
        step = _ask_phone(turn)
        step.replies.insert(0, Reply(turn.describe(error)))
        return step
    turn.member, turn.locale = member, member.locale
    text = turn._(
        "Welcome, {name}! You are now a member; your member number is {member_no}.",
        name=member.name,
        member_no=member.member_no,
    )
    hint = turn._("What would you like to do?")
    return Step([Reply(f"{text}\n{hint}", help.menu_buttons(turn))])


async def _typed_invite(turn: Turn) -> Step:
    """An invite code typed at the summary: kept if it may count, else the reason, and the
    summary again either way."""
    try:
        await _take_invite(turn, turn.text, "code")
    except INVITE_REFUSED as error:
        step = _summary(turn)
        step.replies.insert(0, Reply(turn.describe(error)))
        return step
    return _summary(turn)


flow = Flow(
    name=NAME,
    start=start,
    steps={
        CONSENT: consent,
        ASK_NAME: ask_name,
        ASK_PHONE: ask_phone,
        ASK_BIRTHDAY: ask_birthday,
        CONFIRM: confirm,
    },
    once=frozenset({CONFIRM}),
    # The summary takes a typed invite code: free text.
    expects={CONSENT: Expects.CHOICE, ASK_BIRTHDAY: Expects.DATE},
    needs_member=False,
)
FLOWS = (flow,)
