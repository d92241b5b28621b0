"""The shop file: shipped defaults, merging, and one clear error naming the wrong key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from core.shop import ShopFileError
from core.shop_file import load_shop


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shop.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_describe_a_complete_shop() -> None:
    shop = load_shop()
    assert [t.name for t in shop.tiers.levels] == ["普通", "银卡", "金卡", "钻石"]
    assert [t.name_en for t in shop.tiers.levels] == ["Member", "Silver", "Gold", "Diamond"]
    assert (shop.points.points_per_step, shop.points.step_fen) == (10, 10_000)
    assert shop.points.lifetime_months == 12
    first = shop.rewards[0]
    assert (first.points, first.coupon_value_fen, first.valid_days) == (100, 1_000, 30)
    assert len(shop.rewards) == 3
    assert shop.tier("gold").multiplier == Decimal("1.2")
    assert shop.tier_for_spend(499_999).code == "silver"
    assert shop.tier_for_spend(500_000).code == "gold"
    main = shop.store("main")
    assert main is not None and main.hours.on(0) is not None


def test_shop_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    shop = load_shop(write(tmp_path, '[shop]\nname = "小王咖啡"\n[points]\nlifetime_months = 24\n'))
    assert shop.shop.name == "小王咖啡"
    assert shop.shop.name_en == "Example Shop"
    assert shop.points.lifetime_months == 24
    assert shop.points.points_per_step == 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[points]\nlifetime_months = 0\n", "points.lifetime_months: Input should be greater"),
        ("[points]\nstep_yuan = -5\n", "points.step_yuan"),
        ("[shop]\ncolour = 'red'\n", "shop.colour: unknown key"),
        (
            "[[tiers.levels]]\ncode='a'\nname='A'\nname_en='A'\nspend_yuan=0\nmultiplier='1'\n"
            "[[tiers.levels]]\ncode='b'\nname='B'\nname_en='B'\nspend_yuan=0\nmultiplier='1'\n",
            "tiers: Value error, tier 'b' must need more spending",
        ),
        (
            "[[tiers.levels]]\ncode='a'\nname='A'\nname_en='A'\nspend_yuan=0\nmultiplier='x'\n",
            "tiers.levels[0].multiplier",
        ),
        (
            "[[stores]]\ncode='s1'\nname='S'\nname_en='S'\nslot_minutes=30\nslot_capacity=2\n"
            "[stores.hours]\nmon='9-17'\n",
            'stores[0].hours.mon: expected "HH:MM-HH:MM" or "closed"',
        ),
        ("[points\n", "not valid TOML"),
        (  # a number SQLite's integers cannot hold
            "[[rewards]]\ncode='big'\nname='大'\nname_en='Big'\npoints=99999999999999999999\n"
            "coupon_value_yuan=10\nvalid_days=30\n",
            "rewards[0].points: Input should be less than or equal to 10000000",
        ),
        (
            "[[rewards]]\ncode='big'\nname='大'\nname_en='Big'\npoints=10\n"
            "coupon_value_yuan=1e30\nvalid_days=30\n",
            "rewards[0].coupon_value_yuan: Input should be less than or equal to 10000000",
        ),
        (
            "[wechat.templates.birthday]\nid='T1'\n",
            "wechat.templates: templates are for service messages only, not birthday",
        ),
        (
            "[[wechat.menu]]\nname='会员中心和积分商城'\nname_en='Member'\nkey='points'\n",
            "longer than WeChat's 16 bytes",
        ),
        (
            "[[wechat.menu]]\nname='会员'\nname_en='Member'\nkey='points'\nurl='https://x.cn'\n",
            "give exactly one of key, url or items",
        ),
    ],
)
def test_a_wrong_file_names_the_key_and_the_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ShopFileError) as error:
        load_shop(path)
    assert str(path) in str(error.value)
    assert expected.replace("Value error, ", "") in str(error.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ShopFileError, match="not found"):
        load_shop(tmp_path / "nope.toml")


def test_a_file_not_in_utf8_or_a_folder_is_reported(tmp_path: Path) -> None:
    saved_in_gbk = tmp_path / "gbk.toml"
    saved_in_gbk.write_bytes("[shop]\nname = '旗舰店'\n".encode("gbk"))
    with pytest.raises(ShopFileError, match="not UTF-8 text"):
        load_shop(saved_in_gbk)
    with pytest.raises(ShopFileError, match="a folder, not a file"):
        load_shop(tmp_path)
