"""``/use <coupon code>``: staff mark a coupon used at the counter and see what it is worth
and whose it is — for a goods reward's pickup code, which product to hand over. A used,
expired or unknown code is refused with the reason."""

from __future__ import annotations

from bot.dialogs.engine.dialogs import Flow, StaffHelp, Turn
from bot.dialogs.engine.types import Reply, Step
from bot.dialogs.member.rewards import reward_name
from bot.dialogs.staff.references import member_line, own_store
from bot.i18n import N_, localized
from core.engagement import products
from core.ledger.coupons import use_coupon
from core.people.members import get_member
from core.people.staff import Role

NAME = "use"
ASK = "ask"


async def start(turn: Turn) -> Step:
    code = turn.text.partition(" ")[2].strip()
    if not code:
        return Step([Reply(turn._("Which coupon code?"))], next=ASK)
    return await _use(turn, code)


async def ask(turn: Turn) -> Step:
    return await _use(turn, turn.text)


async def _use(turn: Turn, code: str) -> Step:
    assert turn.staff is not None
    coupon = await use_coupon(turn.ctx, code, store=own_store(turn), staff_id=turn.staff.id)
    member = await get_member(turn.ctx, coupon.member_id)
    reward = turn.ctx.shop.reward(coupon.reward)
    if reward is not None and reward.goods is not None:
        found = (await products.products_by_code(turn.ctx, [reward.goods])).get(reward.goods)
        text = turn._(
            "Pickup code {code} used: hand over {product} to {member}.",
            code=coupon.code,
            product=localized(found.name, found.name_en, turn.locale) if found else reward.goods,
            member=member_line(turn, member),
        )
        return Step([Reply(text)])
    text = turn._(
        "Coupon {code} used: {reward}, worth {value}, of {member}.",
        code=coupon.code,
        reward=reward_name(turn, reward) if reward else coupon.reward,
        value=turn.money(coupon.value_fen),
        member=member_line(turn, member),
    )
    return Step([Reply(text)])


flow = Flow(
    name=NAME,
    start=start,
    steps={ASK: ask},
    commands=("/use",),
    role=Role.CLERK,
    staff_help=StaffHelp(N_("mark a coupon used"), order=20),
)
FLOWS = (flow,)
