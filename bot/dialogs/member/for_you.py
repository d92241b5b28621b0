"""For you (为你推荐): up to three products from the member's favourite categories that they
have not bought lately, or the shop's best sellers for a member without purchases
(core.engagement.preferences.recommend)."""

from __future__ import annotations

from bot.dialogs.engine.dialogs import START, Flow, Menu, Turn
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import Payload, Reply, Step, buttons
from bot.dialogs.member import rewards
from bot.i18n import N_, format_items, localized
from core.engagement.preferences import recommend
from core.engagement.products import ProductView

NAME = "for_you"


def category_name(turn: Turn, code: str) -> str:
    category = turn.ctx.shop.category(code)
    return localized(category.name, category.name_en, turn.locale) if category else code


def product_line(turn: Turn, number: int, product: ProductView) -> str:
    name = localized(product.name, product.name_en, turn.locale)
    text = f"{number}. {name} ({category_name(turn, product.category)})"
    return text if product.price_fen is None else f"{text} {turn.money(product.price_fen)}"


async def show(turn: Turn) -> Step:
    assert turn.member is not None
    found = await recommend(turn.ctx, turn.member.id)
    if not found.products:
        return Step([Reply(turn._("We have nothing new to suggest right now."))])
    if found.categories:
        names = format_items((category_name(turn, c) for c in found.categories), turn.locale)
        head = turn._("For you — you like {categories}; maybe try:", categories=names)
    else:
        head = turn._("For you — our members' favourites:")
    lines = [head]
    lines += [product_line(turn, n, p) for n, p in enumerate(found.products, start=1)]
    lines.append(turn._("Ask for them at the counter."))
    more = Payload(rewards.NAME, START).button(turn._("Rewards"))
    return Step([Reply("\n".join(lines), buttons([more]))])


flow = Flow(
    name=NAME,
    start=show,
    commands=("/foryou", "/for_you", "/recommend"),
    intents=(
        Intents(
            zh=(
                "为你推荐",
                "推荐",
                "有什么推荐",
                "推荐点喝的",
                "给我推荐",
                "新品",
                "推荐一下",
                "喝什么好",
                "买什么好",
                "有什么好喝的",
                "猜我喜欢",
            ),
            en=(
                "for you",
                "recommend",
                "recommendations",
                "what do you recommend",
                "what should i order",
                "suggest a drink",
                "anything new",
                "new products",
            ),
        ),
    ),
    precedence=130,
    menu=Menu(N_("For you"), order=30),
)
FLOWS = (flow,)
