"""The event loop memberbot's processes run on: uvloop's where it is installed (every
platform but Windows), else asyncio's own.

The push dispatcher is mostly HTTP calls and their bookkeeping; on uvloop the same work
costs the loop about a fifth less CPU (5 000 pushes to a fake Bot API: 740-900/s on
asyncio's loop, 970-1 050/s on uvloop's, alternated on the 2-core machine).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on uvloop's loop when there is one."""
    try:
        import uvloop
    except ImportError:  # Windows: uvloop is not built for it
        return asyncio.run(main)
    return uvloop.run(main)
