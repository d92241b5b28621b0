"""What every table of the shop file shares: ``STRICT`` refuses unknown keys (a typo names
its key at start-up) and freezes values; ``Code`` is the short name of a store, tier,
reward… that never changes. Each schema module bases its tables on ``BaseModel`` with
``STRICT`` (linters recognise pydantic models by that base)."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

STRICT = ConfigDict(extra="forbid", frozen=True)
Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
