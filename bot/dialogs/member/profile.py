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
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import Payload, Reply, Step, buttons
from bot.dialogs.engine.waiting import Expects
from bot.dialogs.member import invite
from bot.dialogs.member.registration import LANGUAGE_NAMES, typed_birthday, typed_phone
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
OFFERS = "offers"
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
            return Step([Reply(turn.describe(BirthdayLocked()))])
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
        return Step([Reply(turn.describe(error))])


async def edit_again(turn: Turn, field: str) -> Step:
    """An empty message: ask for the value again."""
    turn.payload = Payload(NAME, EDIT, field)
    return await edit(turn)


async def marketing(turn: Turn) -> Step:
    if turn.payload is None:
        return await show(turn)
    return await _saved(turn, marketing_consent=turn.payload.value == ON)


async def offers(turn: Turn) -> Step:
    """Offers and news, asked about (a typed "unsubscribe"): nothing changes until a tap."""
    if _member(turn).marketing_consent:
        text = turn._("You receive our offers and news. Stop them?")
        change = Payload(NAME, MARKETING, OFF).button(turn._("Stop offers and news"))
    else:
        text = turn._("You do not receive our offers and news. Receive them?")
        change = Payload(NAME, MARKETING, ON).button(turn._("Receive offers and news"))
    keep = Payload(NAME, START).button(turn._("Leave it as it is"))
    return Step([Reply(text, buttons([change], [keep]))])


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
        OFFERS: offers,
        LANG: language,
        LINK: link,
        DELETE: delete,
        NEW_NAME: new_name,
        NEW_PHONE: new_phone,
        NEW_BIRTHDAY: new_birthday,
        DELETE_SURE: delete_sure,
        DELETE_FINAL: delete_final,
    },
    stateless=frozenset({EDIT, MARKETING, OFFERS, LANG, LINK, DELETE}),
    once=frozenset({DELETE_FINAL}),
    expects={NEW_BIRTHDAY: Expects.DATE},
    commands=("/profile",),
    intents=(
        Intents(
            zh=("资料", "我的资料", "个人信息", "我的信息", "修改资料", "个人资料", "我的账号"),
            en=("profile", "my profile", "my details", "my info", "account", "my account"),
        ),
        Intents(
            zh=(
                "修改手机号",
                "换手机号",
                "改手机号",
                "更改电话号码",
                "手机号换了",
                "换号码",
                "换新号码了",
            ),
            en=(
                "change my phone number",
                "update my phone",
                "new phone number",
                "edit mobile",
                "change mobile number",
                "my phone number",
                "my number changed",
            ),
            step=EDIT,
            value=NEW_PHONE,
            label=N_("Edit mobile"),
        ),
        Intents(
            zh=("改生日", "修改生日", "填生日", "生日填错了", "设置生日", "更改生日"),
            en=("change my birthday", "set my birthday", "update birthday", "birthday"),
            step=EDIT,
            value=NEW_BIRTHDAY,
            label=N_("Edit birthday"),
        ),
        Intents(
            zh=("改名字", "修改姓名", "改名", "名字写错了"),
            en=("change my name", "update my name", "edit name"),
            step=EDIT,
            value=NEW_NAME,
            label=N_("Edit name"),
        ),
        Intents(
            zh=(
                "我不想收到广告了",
                "不要再发广告",
                "别推送了",
                "退订",
                "取消订阅",
                "关闭推送",
                "不要营销消息",
                "别发消息了",
                "不想收到推送",
                "广告太多了",
                "开启推送",
                "接收优惠信息",
            ),
            en=(
                "stop sending me offers",
                "unsubscribe",
                "no more ads",
                "stop promotions",
                "opt out of marketing",
                "stop messages",
                "too many messages",
                "no spam",
                "no more promotions",
                "stop the ads",
                "不要推送",
                "stop the newsletter",
                "receive offers",
            ),
            step=OFFERS,
            label=N_("Offers and news"),
        ),
        Intents(
            zh=(
                "注销会员",
                "注销账号",
                "删除我的数据",
                "删除账户",
                "不想当会员了",
                "注销",
                "删除资料",
                "退会",
            ),
            en=(
                "delete my account",
                "delete my data",
                "remove my data",
                "close my account",
                "cancel my membership",
                "erase my data",
                "forget me",
            ),
            step=DELETE,
            label=N_("Delete my data"),
        ),
        Intents(
            zh=("绑定", "关联账号", "绑定电报", "绑定微信", "链接另一个账号"),
            en=("link another app", "link my telegram", "link wechat", "connect telegram"),
            step=LINK,
            label=N_("Link another chat app"),
        ),
    ),
    precedence=80,
    menu=Menu(N_("My profile"), order=100),
    command_menu=(MenuCommand("profile", N_("My profile"), order=80),),
)

# "/lang" (or "语言") offers the languages; the choice is saved by the profile flow.
language_flow = Flow(
    name=LANGUAGE,
    start=language,
    commands=("/lang", "/language"),
    intents=(
        Intents(
            zh=(
                "语言",
                "英文",
                "英语",
                "切换英文",
                "换成中文",
                "中文",
                "切换语言",
                "说中文",
                "改成英文",
                "用英文",
                "换成英文",
            ),
            en=(
                "language",
                "english",
                "chinese",
                "switch to chinese",
                "switch to english",
                "change language",
                "speak english",
                "in english please",
            ),
        ),
    ),
    precedence=90,
    command_menu=(MenuCommand("lang", N_("Language"), order=90),),
)
FLOWS = (flow, language_flow)
