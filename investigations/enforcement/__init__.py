"""Bans and unbans with four-eyes approval, and their delivery to the API gateway."""
