"""Reads of the investigations app, one module per page area. Each takes the user where access matters."""
