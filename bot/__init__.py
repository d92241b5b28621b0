"""Channels, conversations, CLI and wiring around the framework-free ``core``."""
