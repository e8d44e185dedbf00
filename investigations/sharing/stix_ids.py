"""STIX identifiers: deterministic UUIDv5 for SCOs (as STIX 2.1 defines), stable UUIDv4 for SDOs/SROs.

An SDO's id is derived from a private seed and the thing it describes (e.g. "campaign:3,7"), so a
re-export of the same case gets the same id without writing anything during a preview. Once
published, `StableStixId` remembers id, `created` and content so `modified` moves only on change.
"""

from __future__ import annotations

import hashlib
import uuid

import rfc8785
from django.conf import settings

from investigations.sharing.models import StableStixId

SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")


def sco_id(stix_type: str, contributing: dict) -> str:
    """UUIDv5 over the canonical JSON of the id-contributing properties (STIX 2.1 section 2.9)."""
    return f"{stix_type}--{uuid.uuid5(SCO_NAMESPACE, rfc8785.dumps(contributing).decode())}"


def _derived_v4(key: str) -> str:
    digest = bytearray(hashlib.sha256(f"{settings.SECRET_KEY}\0hydra-watch-stix\0{key}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40  # version 4
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return str(uuid.UUID(bytes=bytes(digest)))


class StableIds:
    """Looks up (or derives) the id and timestamps of SDOs/SROs for one export run."""

    def __init__(self, keys_hint: list[str] | None = None) -> None:
        qs = StableStixId.objects.all()
        if keys_hint is not None:
            qs = qs.filter(key__in=keys_hint)
        self._known = {row.key: row for row in qs}

    def preload(self, keys: list[str]) -> None:
        missing = [k for k in keys if k not in self._known]
        for row in StableStixId.objects.filter(key__in=missing):
            self._known[row.key] = row

    def id_for(self, stix_type: str, key: str) -> str:
        row = self._known.get(key)
        if row is not None:
            return row.stix_id
        return f"{stix_type}--{_derived_v4(key)}"

    def stamps(self, key: str, content_sha256: str, now: str) -> tuple[str, str]:
        """(created, modified): keep both when the content is unchanged since the last publication."""
        row = self._known.get(key)
        if row is None:
            return now, now
        if row.content_sha256 == content_sha256 and row.modified:
            return row.created, row.modified
        return row.created, now


def remember(objects_by_key: dict[str, dict], hashes: dict[str, str]) -> None:
    """After publication: store id, created, modified and content hash of every keyed object."""
    existing = {row.key: row for row in StableStixId.objects.filter(key__in=list(objects_by_key))}
    new, changed = [], []
    for key, obj in objects_by_key.items():
        row = existing.get(key)
        if row is None:
            new.append(
                StableStixId(
                    key=key,
                    stix_id=obj["id"],
                    created=obj["created"],
                    modified=obj["modified"],
                    content_sha256=hashes[key],
                )
            )
        elif row.content_sha256 != hashes[key] or row.modified != obj["modified"]:
            row.modified, row.content_sha256 = obj["modified"], hashes[key]
            changed.append(row)
    StableStixId.objects.bulk_create(new, batch_size=2000)
    StableStixId.objects.bulk_update(changed, ["modified", "content_sha256"], batch_size=2000)
