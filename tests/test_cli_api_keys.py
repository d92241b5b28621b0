"""``memberbot api-key``: a key printed once and kept as a hash, listed, revoked."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from core.context import Context
from core.integrations.api_keys import authenticate
from storage.models import ApiKeyRow
from tests.cli import invoke


async def test_a_key_is_created_listed_and_revoked(cli_env: Context) -> None:
    created = await invoke(
        "api-key", "create", "--name", "till-1", "--store", "main", "--scope", "sales:write"
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.splitlines()[0]
    assert key.startswith("mbk_")
    assert "shown only this once" in created.stderr
    async with cli_env.db.read() as s:
        row = await s.scalar(select(ApiKeyRow))
    assert row is not None
    assert row.secret_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in (row.prefix, row.secret_hash) and key.startswith(row.prefix)
    assert (await authenticate(cli_env, key)).scopes == ("sales:write",)

    listed = await invoke("api-key", "list")
    assert "till-1" in listed.stdout and row.prefix in listed.stdout and "active" in listed.stdout
    assert key not in listed.stdout
    everywhere = await invoke("api-key", "create", "--name", "office")
    assert everywhere.exit_code == 0
    assert "every store" in (await invoke("api-key", "list")).stdout

    revoked = await invoke("api-key", "revoke", row.prefix)
    assert revoked.exit_code == 0 and "till-1 is revoked" in revoked.stdout
    assert "revoked" in (await invoke("api-key", "list")).stdout


async def test_mistakes_are_one_clear_line(cli_env: Context) -> None:
    assert (await invoke("api-key", "create", "--name", "t1")).exit_code == 0
    cases = [
        (("api-key", "create", "--name", "t1"), "There is already an API key named t1."),
        (("api-key", "create", "--name", "t2", "--scope", "all"), "scope"),
        (("api-key", "create", "--name", "t2", "--store", "nowhere"), "no store"),
        (("api-key", "revoke", "nobody"), "No API key with the name or prefix nobody."),
    ]
    for args, words in cases:
        result = await invoke(*args)
        assert result.exit_code == 2, result.output
        assert words in result.stderr and "Traceback" not in result.output
