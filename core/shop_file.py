"""Reading the shop file: one TOML file holding the shop's rules (``core.shop.Shop``).

Defaults ship in ``shop_default.toml`` beside this module; a shop's own file is merged over
them (tables merge key by key, arrays replace). Validation happens once at start-up so the
program never runs half-configured; every problem is reported with the key that holds it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.shop import Shop, ShopFileError

DEFAULT_SHOP_FILE = Path(__file__).with_name("shop_default.toml")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ShopFileError(f"shop file {path}: not found") from None
    except IsADirectoryError:
        raise ShopFileError(f"shop file {path}: a folder, not a file") from None
    except UnicodeDecodeError:
        raise ShopFileError(f"shop file {path}: not UTF-8 text (save it as UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ShopFileError(f"shop file {path}: not valid TOML ({exc})") from None


def _describe(path: Path, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        key = ".".join(
            f"[{part}]" if isinstance(part, int) else str(part) for part in item["loc"]
        ).replace(".[", "[")
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{key or '(top level)'}: {message}")
    return f"shop file {path}: " + "; ".join(problems)


def load_shop(path: Path | None = None) -> Shop:
    """Read and validate the shop file (or only the shipped defaults when ``path`` is None)."""
    data = _read_toml(DEFAULT_SHOP_FILE)
    source = DEFAULT_SHOP_FILE
    if path is not None:
        data = _merge(data, _read_toml(path))
        source = path
    try:
        return Shop.model_validate(data)
    except ValidationError as exc:
        raise ShopFileError(_describe(source, exc)) from None
