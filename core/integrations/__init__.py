"""Other systems: the events told to their webhooks (signed deliveries through the outbox)."""
