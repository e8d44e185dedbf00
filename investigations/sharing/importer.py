"""Import a partner's bundle: check it, store its indicators, match them, raise alerts.

Every check runs before the first write, and the writes share one transaction, so a bad
bundle changes nothing. Partner text is stored as data and only ever rendered autoescaped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Account
from investigations.models import Alert
from investigations.services.audit import audit_record
from investigations.sharing import matching, patterns, signing, tlp, validation
from investigations.sharing.models import Partner, PartnerImport, PartnerIndicator, PartnerMatch, Tlp
from investigations.sharing.validation import BundleRejected

# An indicator without a TLP marking is treated as AMBER: the partner did not say it may travel further.
DEFAULT_TLP = Tlp.AMBER
_SEVERITY = {
    PartnerIndicator.Kind.EMAIL_HASH: Alert.Severity.HIGH,
    PartnerIndicator.Kind.PAYMENT_HASH: Alert.Severity.HIGH,
    PartnerIndicator.Kind.SYSTEM_PROMPT: Alert.Severity.HIGH,
    PartnerIndicator.Kind.TOOLS: Alert.Severity.HIGH,
    PartnerIndicator.Kind.PROMPT_SHA256: Alert.Severity.HIGH,
    PartnerIndicator.Kind.ASN: Alert.Severity.LOW,
}
_HIDDEN_TLP = {Tlp.AMBER_STRICT, Tlp.RED}
__all__ = ["BundleRejected", "import_bundle"]


@dataclass
class _Parsed:
    stix_id: str
    modified: str
    name: str
    description: str
    pattern: str
    values: list[patterns.PatternValue]
    tlp: str
    confidence: int | None
    valid_from: object
    valid_until: object


def _verify(bundle: dict, partner: Partner, jws: str | None, manifest_verified: bool) -> str:
    if partner.public_jwk and manifest_verified:
        return PartnerImport.Signature.VERIFIED
    if partner.public_jwk:
        if not jws:
            raise BundleRejected(f"{partner.name} signs its bundles: upload the detached signature (.jws) too.")
        try:
            signing.verify(bundle, jws, partner.public_jwk)
        except signing.SignatureError as exc:
            raise BundleRejected(f"The signature does not verify with {partner.name}'s key: {exc}.") from exc
        return PartnerImport.Signature.VERIFIED
    return PartnerImport.Signature.UNSIGNED


def _indicators(bundle: dict) -> list[_Parsed]:
    out = []
    for obj in bundle["objects"]:
        if obj.get("type") != "indicator" or obj.get("pattern_type") != "stix":
            continue
        values = patterns.values_of(obj["pattern"])
        if not values:
            continue
        confidence = obj.get("confidence")
        out.append(
            _Parsed(
                stix_id=obj["id"],
                modified=str(obj.get("modified", "")),
                name=str(obj.get("name", ""))[:300],
                description=str(obj.get("description", ""))[:5000],
                pattern=obj["pattern"],
                values=values,
                tlp=tlp.level_of(obj.get("object_marking_refs", []) or []) or DEFAULT_TLP,
                confidence=confidence if isinstance(confidence, int) else None,
                valid_from=parse_datetime(str(obj.get("valid_from", ""))),
                valid_until=parse_datetime(str(obj["valid_until"])) if obj.get("valid_until") else None,
            )
        )
    return out


def import_bundle(
    *,
    partner: Partner,
    raw: bytes,
    jws: str | None,
    actor: AbstractBaseUser | None,
    source: str,
    filename: str = "",
    manifest_verified: bool = False,
) -> PartnerImport:
    """Check, store and match one partner bundle. Raises BundleRejected (nothing stored) when it is bad.

    `manifest_verified`: a TAXII poll already checked every object against the partner's signed manifest.
    """
    bundle = validation.parse(raw)
    validation.check(bundle)
    signature = _verify(bundle, partner, jws, manifest_verified)
    parsed = _indicators(bundle)
    with transaction.atomic():
        record = PartnerImport.objects.create(
            partner=partner,
            source=source,
            filename=filename[:255],
            sha256=hashlib.sha256(raw).hexdigest(),
            size_bytes=len(raw),
            signature=signature,
            object_count=len(bundle["objects"]),
            indicator_count=len(parsed),
            imported_by=actor if actor is not None and actor.is_authenticated else None,
        )
        stored = _store(partner, record, parsed)
        now = timezone.now()
        live = [i for i in stored if i.valid_until is None or i.valid_until > now]
        found, notes = matching.find_matches(live)
        alerts = _raise_alerts(partner, record, {i.pk: i for i in live}, found)
        record.match_count, record.alert_count = len(found), alerts
        record.save(update_fields=["match_count", "alert_count"])
        audit_record(
            actor=actor,
            action="sharing.partner_bundle_imported",
            obj=record,
            reason=f"{source} from {partner.name}",
            after={
                "sha256": record.sha256,
                "signature": signature,
                "objects": record.object_count,
                "indicators": len(parsed),
                "values": len(stored),
                "expired": len(stored) - len(live),
                "matches": len(found),
                "alerts": alerts,
                "notes": notes[:20],
            },
        )
    return record


_COLUMNS = [
    "stix_id",
    "stix_modified",
    "name",
    "description",
    "pattern",
    "kind",
    "value",
    "key_id",
    "tlp",
    "confidence",
    "valid_from",
    "valid_until",
]


def _store(partner: Partner, record: PartnerImport, parsed: list[_Parsed]) -> list[PartnerIndicator]:
    """Upsert one row per (indicator, value); a newer version of a partner indicator replaces the older."""
    rows = [
        (
            p.stix_id,
            p.modified,
            p.name,
            p.description,
            p.pattern,
            v.kind,
            v.value[:512],
            v.key_id[:64],
            p.tlp,
            p.confidence,
            p.valid_from,
            p.valid_until,
        )
        for p in parsed
        for v in p.values
    ]
    rows = list({(r[0], r[5], r[6]): r for r in rows}.values())  # one row per unique key, last wins
    if connection.vendor == "postgresql":
        _store_pg(partner, record, rows)
    else:
        PartnerIndicator.objects.bulk_create(
            [
                PartnerIndicator(partner=partner, partner_import=record, **dict(zip(_COLUMNS, r, strict=True)))
                for r in rows
            ],
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["partner", "stix_id", "kind", "value"],
            update_fields=["partner_import", *[c for c in _COLUMNS if c not in ("stix_id", "kind", "value")]],
        )
    fields = ["id", "stix_id", "kind", "value", "key_id", "name", "tlp", "confidence", "valid_until"]
    return list(PartnerIndicator.objects.filter(partner_import=record).only(*fields))


def _store_pg(partner: Partner, record: PartnerImport, rows: list[tuple]) -> None:
    """COPY into a temporary table, then one INSERT ... ON CONFLICT: 50,000 rows in well under a second."""
    table = PartnerIndicator._meta.db_table
    cols = ", ".join(_COLUMNS)
    updates = ", ".join(
        f"{c} = excluded.{c}" for c in ["partner_import_id", *_COLUMNS] if c not in ("stix_id", "kind", "value")
    )
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS hw_partner_ind")
        cur.execute(f"CREATE TEMP TABLE hw_partner_ind ON COMMIT DROP AS SELECT {cols} FROM {table} WITH NO DATA")
        with cur.connection.cursor().copy(f"COPY hw_partner_ind ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            f"INSERT INTO {table} (partner_id, partner_import_id, {cols}) "
            f"SELECT %s, %s, {cols} FROM hw_partner_ind "
            f"ON CONFLICT (partner_id, stix_id, kind, value) DO UPDATE SET {updates}",
            [partner.pk, record.pk],
        )  # noqa: S608 - column names are constants


def _raise_alerts(
    partner: Partner, record: PartnerImport, indicators: dict[int, PartnerIndicator], found: list[matching.Match]
) -> int:
    """One alert per (partner indicator, account); re-importing the same bundle raises none twice."""
    if not found:
        return 0
    now = timezone.now()
    alerts, matches = [], []
    for m in found:
        ind = indicators[m.indicator_id]
        shown = f"value withheld (TLP:{ind.tlp.upper()})" if ind.tlp in _HIDDEN_TLP else ind.value[:120]
        alert_id = f"hw:partner:{partner.pk}:{ind.stix_id.split('--')[-1]}:{ind.kind}:{m.account_id}"
        alerts.append(
            Alert(
                alert_id=alert_id[:128],
                account_id=m.account_id,
                detector=f"partner:{ind.kind}",
                score=(ind.confidence if ind.confidence is not None else 50) / 100,
                raised_at=now,
                severity=_SEVERITY.get(ind.kind, Alert.Severity.MEDIUM),
                source=Alert.Source.PARTNER,
                summary=(
                    f"{partner.name} indicator {ind.stix_id} ({ind.name or ind.get_kind_display()}) matched "
                    f"{ind.get_kind_display()} {shown}: {m.matched_on}"
                )[:2000],
            )
        )
    Alert.objects.bulk_create(alerts, batch_size=2000, ignore_conflicts=True)
    if connection.vendor != "postgresql":
        by_alert_id = dict(
            Alert.objects.filter(alert_id__in=[a.alert_id for a in alerts]).values_list("alert_id", "pk")
        )
    else:
        by_alert_id = _alert_ids_pg([a.alert_id for a in alerts])
    for m, alert in zip(found, alerts, strict=True):
        matches.append(
            PartnerMatch(
                indicator_id=m.indicator_id,
                partner_import=record,
                account_id=m.account_id,
                alert_id=by_alert_id.get(alert.alert_id),
                matched_on=m.matched_on[:200],
                event_count=m.events,
            )
        )
    PartnerMatch.objects.bulk_create(
        matches,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["indicator", "account"],
        update_fields=["partner_import", "matched_on", "event_count", "alert"],
    )
    Account.objects.filter(pk__in={m.account_id for m in found}, flagged_at__isnull=True).update(flagged_at=now)
    return len(alerts)


def _alert_ids_pg(alert_ids: list[str]) -> dict[str, int]:
    # = ANY(array) is one parameter, where an IN list of 50,000 placeholders costs seconds to bind.
    with connection.cursor() as cur:
        cur.execute(f"SELECT alert_id, id FROM {Alert._meta.db_table} WHERE alert_id = ANY(%s)", [alert_ids])  # noqa: S608
        return dict(cur.fetchall())
