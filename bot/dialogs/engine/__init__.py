"""The dialog engine: the vocabulary between channels and flows, and the routing of events."""
