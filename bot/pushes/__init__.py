"""The push pipeline's channel side: what a push says (texts), the dispatcher that drains the
outbox, and the senders the channels offer."""
