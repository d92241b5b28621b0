"""The ledger: points lots and balances, sales, refunds, coupons, tiers; ``core.loyalty`` is
the entry point the channels call."""
