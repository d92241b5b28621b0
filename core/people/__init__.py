"""People: members, staff, the chat accounts they talk from, and erasing them on request."""
