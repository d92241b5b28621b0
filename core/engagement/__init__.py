"""Engagement beyond buying: members-only events, check-in, referrals, products and what
members like."""
