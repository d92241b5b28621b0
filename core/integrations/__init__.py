"""Other systems (a till, its vendor's back office): their API keys, the requests they may
send twice and must see done once, the look-ups a till makes, and the events told to their
webhooks (signed deliveries through the outbox). Builds on people and ledger; imports no web
framework."""
