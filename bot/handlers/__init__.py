"""Channel adapters: platform update in, dialog event; dialog replies out, platform message."""
