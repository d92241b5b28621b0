"""A shop file with a product catalogue, a goods reward with stock 1 and referral rewards,
and the context over it, for the tests of products, preferences and referrals."""

from __future__ import annotations

from pathlib import Path

from bot.composition import shop_context
from core.clock import FixedClock
from core.context import Context
from core.shop import Shop
from core.shop_file import load_shop
from storage.db import Database
from tests.conftest import ZONE

SHOP_FILE = """
[referrals]
referrer_points = 100
welcome_points = 30
min_purchase_yuan = 10
telegram_bot = "example_shop_bot"

[[rewards]]
code = "coupon10"
name = "10 元代金券"
name_en = "¥10 voucher"
points = 100
coupon_value_yuan = 10
valid_days = 30

[[rewards]]
code = "mug"
name = "定制马克杯"
name_en = "Shop mug"
points = 200
goods = "mug"
stock = 1
valid_days = 30

[[categories]]
code = "coffee"
name = "咖啡"
name_en = "Coffee"

[[categories]]
code = "tea"
name = "茶饮"
name_en = "Tea"

[[categories]]
code = "cake"
name = "甜点"
name_en = "Cakes"

[[products]]
code = "latte"
name = "拿铁"
name_en = "Latte"
category = "coffee"
price_yuan = 28

[[products]]
code = "americano"
name = "美式"
name_en = "Americano"
category = "coffee"
price_yuan = 22

[[products]]
code = "mocha"
name = "摩卡"
name_en = "Mocha"
category = "coffee"
price_yuan = 32

[[products]]
code = "greentea"
name = "绿茶"
name_en = "Green tea"
category = "tea"
price_yuan = 18

[[products]]
code = "oolong"
name = "乌龙茶"
name_en = "Oolong"
category = "tea"
price_yuan = 20

[[products]]
code = "cheesecake"
name = "芝士蛋糕"
name_en = "Cheesecake"
category = "cake"
price_yuan = 30

[[products]]
code = "tiramisu"
name = "提拉米苏"
name_en = "Tiramisu"
category = "cake"
price_yuan = 35

[[products]]
code = "mug"
name = "马克杯"
name_en = "Mug"
category = "merch"
price_yuan = 59
"""


def product_shop(tmp_path: Path) -> Shop:
    path = tmp_path / "shop.toml"
    path.write_text(SHOP_FILE, encoding="utf-8")
    return load_shop(path)


async def product_context(db: Database, clock: FixedClock, tmp_path: Path) -> Context:
    return await shop_context(db, product_shop(tmp_path), clock, ZONE)
