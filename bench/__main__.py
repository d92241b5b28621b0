"""``python -m bench NAME [options]`` runs one benchmark; ``python -m bench all`` runs each
with its defaults. Names: wechat, telegram, pushes, ledger, intents, api."""

from __future__ import annotations

import importlib
import sys

NAMES = ("wechat", "telegram", "pushes", "ledger", "intents", "api")


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in (*NAMES, "all"):
        print(__doc__)
        raise SystemExit(2)
    for name in NAMES if argv[0] == "all" else (argv[0],):
        print(f"== {name}")
        importlib.import_module(f"bench.{name}").run(argv[1:] if argv[0] != "all" else [])


if __name__ == "__main__":
    main(sys.argv[1:])
