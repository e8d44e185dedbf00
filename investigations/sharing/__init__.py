"""Indicator sharing with partner labs: STIX 2.1 export, signatures, TAXII 2.1, partner import, MISP."""
