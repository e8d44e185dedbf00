"""TLP markings: the official TLP 2.0 marking-definition objects, and the TLP 1.0 ids accepted on import."""

from __future__ import annotations

from investigations.sharing.models import Tlp

TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

TLP2_IDS: dict[str, str] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# MISP and older tools still emit the TLP 1.0 ids (spec: sharing-profile.md, "Markings").
TLP1_IDS: dict[str, str] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}
LEVEL_BY_ID: dict[str, str] = {**{v: k for k, v in TLP2_IDS.items()}, **TLP1_IDS}
ORDER = [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED]


def marking_definition(level: str) -> dict:
    """The official TLP 2.0 marking-definition object for `level`."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_IDS[level],
        "created": "2022-10-01T00:00:00.000Z",
        "name": Tlp(level).label,
        "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level}},
    }


def stricter(a: str, b: str) -> str:
    return a if ORDER.index(Tlp(a)) >= ORDER.index(Tlp(b)) else b


def claims_tlp(obj: dict) -> bool:
    """Whether a marking-definition presents itself as TLP (so an unknown id must be rejected)."""
    if obj.get("type") != "marking-definition":
        return False
    name = str(obj.get("name", "")).upper()
    definition = obj.get("definition") or {}
    return (
        "TLP" in name
        or obj.get("definition_type") == "tlp"
        or (isinstance(definition, dict) and "tlp" in definition)
        or TLP2_EXTENSION in (obj.get("extensions") or {})
    )


def level_of(marking_refs: list[str]) -> str | None:
    """The strictest TLP level among an object's marking refs, or None when it has none."""
    levels = [LEVEL_BY_ID[ref] for ref in marking_refs if ref in LEVEL_BY_ID]
    if not levels:
        return None
    return max(levels, key=lambda lv: ORDER.index(Tlp(lv)))
