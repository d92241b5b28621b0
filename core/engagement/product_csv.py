"""Products in bulk from CSV (``memberbot products import FILE.csv``), the way members come
in (core.people.member_csv; both read files with core.csv_import): the product code is the key,
so importing a file again updates and never duplicates; a bad row never stops the good ones
and is reported with its line number.

Columns: ``code``, ``name`` and ``category`` are required; ``name_en`` (default: the name),
``price_yuan`` (empty: no price) and ``active`` (yes/no, default yes: "no" takes a product
off the catalogue) are optional; a product already on file keeps the values of the columns
the file does not have. Codes and categories are read in lower case. A product the shop
file defines is the shop file's: its row is refused (change it in the shop file).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TextIO

from sqlalchemy import select

from core import audit, csv_import
from core.context import Context
from core.csv_import import ImportReport, RowError
from core.engagement.products import IMPORT
from core.errors import (
    DomainError,
    DuplicateProductRow,
    InvalidInput,
    MissingValue,
    ProductInShopFile,
)
from core.shop import yuan_to_fen
from storage.models import ProductRow

COLUMNS = ("code", "name", "name_en", "category", "price_yuan", "active")
REQUIRED = ("code", "name", "category")
# ProductRow attribute → the column it comes from (what an update may overwrite).
_FIELDS = {
    "name": "name",
    "name_en": "name_en",
    "category": "category",
    "price_fen": "price_yuan",
    "active": "active",
    "source": "source",
}
NAME_MAX = 100
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_ACTIVE = {"yes": True, "true": True, "1": True, "是": True, "no": False, "false": False}
_ACTIVE |= {"0": False, "否": False}


@dataclass(frozen=True)
class _Product:
    code: str
    name: str
    name_en: str
    category: str
    price_fen: int | None
    active: bool


async def import_products(
    ctx: Context,
    source: Iterable[str] | TextIO,
    *,
    actor: str = audit.SYSTEM,
    progress: csv_import.Progress | None = None,
) -> ImportReport:
    """Create or update products from CSV text (UTF-8, header row first, BOM allowed); all
    rows are checked first, then the good ones written in one transaction."""
    rows = csv_import.records(source, progress)
    try:
        width, columns = csv_import.read_header(rows, imported=COLUMNS, required=REQUIRED)
        products, errors = _parse(rows, width, columns, {p.code for p in ctx.shop.products})
        present = set(columns) | {"source"}
    except csv_import.FileRefused as whole_file:  # a bad header, or not CSV text
        return whole_file.report()
    created = updated = unchanged = 0
    now = ctx.now()
    async with ctx.db.transaction() as s:
        existing = {r.code: r for r in await s.scalars(select(ProductRow))}
        for product in products:
            row = existing.get(product.code)
            values = {
                "name": product.name,
                "name_en": product.name_en,
                "category": product.category,
                "price_fen": product.price_fen,
                "active": product.active,
                "source": IMPORT,
            }
            if row is None:
                s.add(ProductRow(code=product.code, **values))
                created += 1
                continue
            # Only what the file has: a file without prices keeps the prices on file.
            values = {key: value for key, value in values.items() if _FIELDS[key] in present}
            if any(getattr(row, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(row, key, value)
                updated += 1
            else:
                unchanged += 1
        audit.record(
            s,
            now,
            actor,
            "product.imported",
            created=created,
            updated=updated,
            unchanged=unchanged,
            refused=len(errors),
        )
    return ImportReport(created, updated, errors, unchanged)


def _parse(
    rows: Iterable[tuple[int, list[str]]],
    width: int,
    columns: dict[str, int],
    shop_codes: set[str],
) -> tuple[list[_Product], list[RowError]]:
    products: list[_Product] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: cells[i].strip() if i < len(cells) else "" for name, i in columns.items()}
        try:
            if len(cells) > width and any(cell.strip() for cell in cells[width:]):
                raise InvalidInput(field="columns", value=len(cells))
            for required in REQUIRED:
                if not values[required]:
                    raise MissingValue(field=required)
            product = _product(values)
            if product.code in first_line:
                raise DuplicateProductRow(product=product.code, first_line=first_line[product.code])
            first_line[product.code] = line
            if product.code in shop_codes:
                raise ProductInShopFile(product=product.code)
            products.append(product)
        except DomainError as exc:
            errors.append(RowError(line, exc))
    return products, errors


def _product(values: dict[str, str]) -> _Product:
    code = values["code"].lower()
    if not _CODE.match(code):
        raise InvalidInput(field="code", value=values["code"][:40])
    name = " ".join(values["name"].split())
    if not name or len(name) > NAME_MAX:
        raise InvalidInput(field="name", max=NAME_MAX)
    name_en = " ".join(values.get("name_en", "").split()) or name
    if len(name_en) > NAME_MAX:
        raise InvalidInput(field="name_en", max=NAME_MAX)
    category = values["category"].lower()
    if not _CODE.match(category):
        raise InvalidInput(field="category", value=values["category"][:40])
    price = values.get("price_yuan", "")
    active = values.get("active", "")
    if active and active.lower() not in _ACTIVE:
        raise InvalidInput(field="active", value=active)
    return _Product(
        code=code,
        name=name,
        name_en=name_en,
        category=category,
        price_fen=_price(price) if price else None,
        active=_ACTIVE[active.lower()] if active else True,
    )


def _price(text: str) -> int:
    try:
        value = Decimal(text.removeprefix("¥").removeprefix("￥").strip())
    except InvalidOperation:
        raise InvalidInput(field="price_yuan", value=text[:20]) from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise InvalidInput(field="price_yuan", value=text[:20])
    if value > 10_000_000:
        raise InvalidInput(field="price_yuan", value=text[:20])
    return yuan_to_fen(value)
