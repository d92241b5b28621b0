"""The API's requests and answers: the same models validate a request, shape an answer and
write the OpenAPI document. Amounts are integer fen (1 yuan = 100 fen), as Stripe and Square
take minor units: no decimal strings to round, what a till's own ledger holds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from bot.api.field_messages import ONE_MEMBER
from core.ledger.receipts import RECEIPT_MAX

Fen = Annotated[int, Field(ge=0, le=10**10, description="An amount in fen (¥1.00 = 100).")]
# What a sale or refund moves: at least one fen (core.ledger.rules.check_amount).
PaidFen = Annotated[int, Field(ge=1, le=10**10, description="An amount in fen (¥1.00 = 100).")]
# No control characters: a tab or NUL in a receipt number is a till's bug, and PostgreSQL
# cannot store NUL in text. The same rule checks the path parameters (bot.api.app).
NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"
Text = Annotated[str, Field(pattern=NO_CONTROL)]


class Request(BaseModel):
    """Strict: a field the API does not know (a typo would lose data) or a value of the
    wrong type ("100" for 100) is refused with the field named."""

    model_config = ConfigDict(extra="forbid", strict=True)


class MemberRef(Request):
    """Exactly one of the member's phone, member number, or the content of the member
    card's QR code."""

    phone: Text | None = Field(default=None, examples=["13800138000"])
    member_no: Text | None = Field(default=None, examples=["M000042"])
    card: Text | None = Field(default=None, description="The scanned member card QR code.")

    @model_validator(mode="after")
    def _exactly_one(self) -> MemberRef:
        if sum(v is not None for v in (self.phone, self.member_no, self.card)) != 1:
            raise PydanticCustomError(ONE_MEMBER, "give exactly one of phone, member_no, card")
        return self


class NewMember(Request):
    phone: Text = Field(examples=["13800138000"])
    name: Text = Field(max_length=50)
    marketing_consent: bool = Field(
        default=False, description="The member agreed to receive offers."
    )
    store: Text | None = Field(
        default=None, description="Home store; a store's key registers at its own store."
    )
    locale: Literal["zh_CN", "en"] = "zh_CN"
    birthday: Text | None = Field(default=None, examples=["1990-05-12"])


class SaleLineIn(Request):
    product: Text
    quantity: int = Field(ge=1, le=10_000)
    amount_fen: Fen


class NewSale(Request):
    store: Text = Field(description="The store's code from the shop file.")
    receipt_no: Text = Field(min_length=1, max_length=RECEIPT_MAX)
    member: MemberRef
    amount_fen: PaidFen
    lines: list[SaleLineIn] = Field(default_factory=list, max_length=200)


class NewRefund(Request):
    amount_fen: PaidFen | None = Field(
        default=None, description="What is refunded; omitted: all that is left of the sale."
    )


class CouponUse(Request):
    store: Text | None = Field(
        default=None, description="Where it is used; a store's key uses its own store."
    )


class Tier(BaseModel):
    code: str
    name: str
    name_en: str


class Coupon(BaseModel):
    code: str
    reward: str
    value_fen: int
    expires_at: datetime
    used_at: datetime | None


class CouponCheck(Coupon):
    usable: bool
    refused: str | None = Field(description="Why it cannot be used now (a problem code).")
    member_no: str


class Member(BaseModel):
    member_no: str
    name: str
    phone: str | None = Field(description="Masked: the till knows the number it asked with.")
    tier: Tier
    balance: int = Field(description="Points usable now.")
    home_store: str | None
    marketing_consent: bool
    registered_at: datetime
    coupons: list[Coupon] = Field(description="Usable now, soonest to expire first.")


class Sale(BaseModel):
    store: str
    receipt_no: str
    member_no: str
    amount_fen: int
    points: int = Field(description="Points this sale earned.")
    balance: int = Field(description="The member's balance right after the sale.")
    tier: Tier
    upgraded_from: str | None = Field(description="The tier code before the sale lifted it.")


class Refund(BaseModel):
    store: str
    receipt_no: str
    amount_fen: int
    points_reversed: int
    shortfall: int = Field(description="Points owed back that the member had already spent.")
    balance: int


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``); a domain error's params are
    extension members."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A stable URI per problem code.")
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None
