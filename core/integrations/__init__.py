"""Other systems (a till, its vendor's back office): their API keys, the requests they may
send twice and must see done once, and the look-ups a till makes. Builds on people and
ledger; imports no web framework."""
