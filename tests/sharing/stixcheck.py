"""The checks every exported bundle must pass (sharing-profile.md, "Checks every exported bundle passes")."""

from __future__ import annotations

import re

import stix2
from stix2validator import ValidationOptions, validate_instance

from investigations.sharing import lint

# 103: UUIDv5 ids of custom SCOs; 302: external references without hashes. The profile expects these.
ALLOWED_WARNINGS = {"103", "302"}


def assert_profile_compliant(bundle: dict, private_values: list[str] = ()) -> None:
    results = validate_instance(bundle, ValidationOptions(version="2.1"))
    assert [str(e) for e in results.errors] == []
    codes = {m.group(1) for w in results.warnings if (m := re.search(r"\{(\d+)\}", str(w)))}
    unexpected = [str(w) for w in results.warnings if not any(f"{{{c}}}" in str(w) for c in ALLOWED_WARNINGS)]
    assert unexpected == [], unexpected
    assert codes <= ALLOWED_WARNINGS
    stix2.parse(bundle, allow_custom=True)
    assert lint.lint_bundle(bundle, private_values=private_values) == []
