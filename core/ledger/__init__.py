"""The ledger: points lots and the balance (points), the pure earning rules (rules), tiers,
coupons, refunds, adjustments, a member's statement, and receipt numbers; recording a sale,
which sets most of them off, is ``core.loyalty``."""
