"""Oversight: anomalies raised for the owner, and the owner's decisions on them."""
