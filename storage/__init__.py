"""Schema, engine set-up and migrations; the only package that knows the ORM."""
