"""``memberbot products import``: bad rows listed by line, good rows kept, a clear status."""

from __future__ import annotations

from pathlib import Path

from core.context import Context
from core.engagement import products
from tests.cli import invoke


async def test_products_import_reports_bad_lines_and_keeps_good_rows(
    cli_env: Context, tmp_path: Path
) -> None:
    source = tmp_path / "products.csv"
    source.write_text(
        "code,name,name_en,category,price_yuan\n"
        "latte,拿铁,Latte,coffee,28\n"
        "mocha,摩卡,Mocha,coffee,abc\n"
        "scone,司康,Scone,cake,12.5\n",
        encoding="utf-8",
    )
    result = await invoke("products", "import", str(source))
    assert result.exit_code == 1
    assert "Imported: 2 new, 0 updated, 1 refused." in result.output
    assert "line 3: The value for price is not valid." in result.stderr
    listed = await products.list_products(cli_env)
    assert [(p.code, p.price_fen) for p in listed] == [("scone", 1_250), ("latte", 2_800)]

    source.write_text("code,name,category\nlatte,拿铁咖啡,coffee\n", encoding="utf-8")
    again = await invoke("products", "import", str(source))
    assert again.exit_code == 0, again.output
    assert "Imported: 0 new, 1 updated, 0 refused." in again.output
