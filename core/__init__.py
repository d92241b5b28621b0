"""memberbot's business rules: plain values in, plain dataclasses out, no chat framework."""
