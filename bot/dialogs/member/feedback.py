"""Feedback: a rating from 1 to 5 (a button or a typed digit), then a few words; staff
answer in the same chat. "My feedback" lists what was sent and what staff answered. Words
typed with the keyword ("投诉：服务太慢了") are kept: only the rating is asked, then sent.

Bad input (a rating of 7, an empty or too long text) gets a clear reply and the question
again; the conversation stays where it was. The text is stored exactly as typed (channels
escape it where they show it).
"""

from __future__ import annotations

from bot.dialogs.engine.dialogs import Flow, Menu, MenuCommand, Turn
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import Payload, Reply, Step, buttons
from bot.dialogs.engine.waiting import Expects
from bot.i18n import N_
from core.service import feedback
from core.service.feedback import RATING_MAX, RATING_MIN, TEXT_MAX, URGENT_MAX_RATING
from core.text import blank

NAME = "feedback"
RATING, TEXT, MINE = "rating", "text", "mine"
STAR = "⭐"
MINE_WORDS = ("我的反馈", "my feedback")
KEYWORDS = ("反馈", "意见", "投诉", "feedback", "complain")
# Said around a keyword without being feedback themselves ("我要投诉", "I want to complain").
LEAD_INS = ("complaint", "我要", "我想", "提个", "提", "给", "i want to", "i'd like to", "give")
WORDS_MIN = 4  # characters left besides the keyword and lead-ins: words worth keeping
LISTED = 5  # past feedback shown in "my feedback"
EXCERPT = 80  # characters of each past text shown there


def _rating_question(turn: Turn, note: str = "") -> Step:
    stars = [
        Payload(NAME, RATING, str(n)).button(STAR * n) for n in range(RATING_MIN, RATING_MAX + 1)
    ]
    question = turn._("How was your experience? Please rate us from 1 (poor) to 5 (excellent).")
    text = "\n".join(filter(None, (note, question)))
    mine = [Payload(NAME, MINE).button(turn._("My feedback"))]
    return Step([Reply(text, buttons(stars, mine))], next=RATING)


def _rating(value: str) -> int | None:
    """A rating from a button value or typed text: "4", "４" or "⭐⭐⭐⭐"."""
    value = value.strip()
    if value and set(value) == {STAR}:
        value = str(len(value))
    if not value.isdigit() or len(value) > 1:
        return None
    number = int(value)
    return number if RATING_MIN <= number <= RATING_MAX else None


def too_long(turn: Turn, text: str, limit: int = TEXT_MAX) -> Reply | None:
    """Feedback, staff answers and reasons are refused over the limit, never silently
    shortened."""
    if len(text) <= limit:
        return None
    return Reply(
        turn._(
            "That is too long: at most {max} characters, yours has {count}. "
            "Please shorten it and send it again.",
            max=limit,
            count=len(text),
        )
    )


def _words(text: str) -> str | None:
    """The message itself when it says more than "feedback" ("投诉：服务太慢了",
    "complaint: too slow"), else None."""
    rest = text.lower()
    for word in (*LEAD_INS, *KEYWORDS):
        rest = rest.replace(word, "")
    said = [c for c in rest if c.isalnum()]
    return text if len(said) >= WORDS_MIN and not text.startswith("/") else None


async def start(turn: Turn) -> Step:
    lowered = turn.text.lower()
    if any(word in lowered for word in MINE_WORDS):
        return await mine(turn)
    words = _words(turn.event.text.strip())
    if words is None or too_long(turn, words) is not None or "\x00" in words:
        return _rating_question(turn)
    turn.data["words"] = words
    return _rating_question(turn, turn._("Got it: “{words}”", words=words))


async def rate(turn: Turn) -> Step:
    rating = _rating(turn.payload.value if turn.payload else turn.event.text)
    if rating is None:
        note = turn._(
            "Please give a rating from {min} to {max}: tap a button or type a digit.",
            min=RATING_MIN,
            max=RATING_MAX,
        )
        return _rating_question(turn, note)
    turn.data["rating"] = rating
    if "words" in turn.data:  # said with the keyword: nothing more to ask
        return await _submitted(turn, rating, str(turn.data["words"]))
    text = turn._(
        "Thank you! What would you like to tell us? (at most {max} characters)", max=TEXT_MAX
    )
    return Step([Reply(text)], next=TEXT)


async def write(turn: Turn) -> Step:
    """Submit the rating and the words. The raw message is used (not the engine's cut
    copy) so that a text over the limit is refused, never silently shortened."""
    assert turn.member is not None
    if turn.payload is not None:  # a button of this step's question: there are none
        return Step([Reply(turn._("Please type your feedback as a message."))], next=TEXT)
    text = turn.event.text.strip()
    if blank(text) or "\x00" in text:
        return Step([Reply(turn._("Please write a few words about your experience."))], next=TEXT)
    if (refusal := too_long(turn, text)) is not None:
        return Step([refusal], next=TEXT)
    return await _submitted(turn, int(turn.data["rating"]), text)


async def _submitted(turn: Turn, rating: int, text: str) -> Step:
    assert turn.member is not None
    await feedback.submit_feedback(turn.ctx, turn.member.id, rating, text)
    lines = [turn._("Thank you for your feedback! Our staff will read it and answer you here.")]
    if rating <= URGENT_MAX_RATING:
        lines.append(turn._("We are sorry it was not better; someone will be in touch soon."))
    return Step(
        [Reply("\n".join(lines), buttons([Payload(NAME, MINE).button(turn._("My feedback"))]))]
    )


async def mine(turn: Turn) -> Step:
    """What the member sent and what staff answered, newest first."""
    assert turn.member is not None
    sent = await feedback.member_feedback(turn.ctx, turn.member.id, LISTED)
    if not sent:
        return Step([Reply(turn._("You have not sent any feedback yet."))])
    lines = [turn._("Your feedback:")]
    for item in sent:
        excerpt = item.text if len(item.text) <= EXCERPT else item.text[: EXCERPT - 1] + "…"
        lines.append(f"{turn.day(item.created_at)} {STAR * item.rating} {excerpt}")
        if item.answer:
            lines.append(turn._("Answer: {answer}", answer=item.answer))
        else:
            lines.append(turn._("No answer yet."))
    return Step([Reply("\n".join(lines))])


flow = Flow(
    name=NAME,
    start=start,
    steps={RATING: rate, TEXT: write, MINE: mine},
    stateless=frozenset({MINE}),
    expects={RATING: Expects.NUMBER},
    commands=("/feedback",),
    intents=(
        Intents(
            zh=(
                "反馈",
                "意见",
                "建议",
                "提个建议",
                "我有个建议",
                "提意见",
                "投诉",
                "我要投诉",
                "吐槽",
                "差评",
                "服务太差了",
                "你们的咖啡太难喝了",
                "太难喝了",
                "难喝",
                "难吃",
                "不好喝",
                "等太久了",
                "态度不好",
                "表扬一下店员",
                "评价",
                "不满意",
                "太慢了",
                "服务员态度差",
                "好评",
                "体验很差",
                "不新鲜",
            ),
            en=(
                "feedback",
                "complaint",
                "complain",
                "i want to complain",
                "suggestion",
                "i have a suggestion",
                "the coffee was terrible",
                "service was slow",
                "rude staff",
                "leave a review",
                "review",
                "rate my visit",
                "bad service",
                "the food was cold",
                "terrible",
                "disappointed",
                "compliment the staff",
                "waited too long",
            ),
        ),
    ),
    precedence=70,
    menu=Menu(N_("Feedback"), order=90),
    command_menu=(MenuCommand("feedback", N_("Send feedback"), order=70),),
)
FLOWS = (flow,)
