"""Writes of the investigations app, one module per concern (audit, alerts, cases, ...)."""
