"""Import a partner's bundle: check it, store its indicators, match them, raise alerts.

Every check runs before the first write, and the writes share one transaction, so a bad
bundle changes nothing. Partner text is stored as data and only ever rendered autoescaped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
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


def _store(partner: Partner, record: PartnerImport, parsed: list[_Parsed]) -> list[PartnerIndicator]:
    rows = [
        PartnerIndicator(
            partner=partner,
            partner_import=record,
            stix_id=p.stix_id,
            stix_modified=p.modified,
            name=p.name,
            description=p.description,
            pattern=p.pattern,
            kind=v.kind,
            value=v.value[:512],
            key_id=v.key_id[:64],
            tlp=p.tlp,
            confidence=p.confidence,
            valid_from=p.valid_from,
            valid_until=p.valid_until,
        )
        for p in parsed
        for v in p.values
    ]
    update = [
        "partner_import",
        "stix_modified",
        "name",
        "description",
        "pattern",
        "key_id",
        "tlp",
        "confidence",
        "valid_from",
        "valid_until",
    ]
    PartnerIndicator.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["partner", "stix_id", "kind", "value"],
        update_fields=update,
    )
    return list(PartnerIndicator.objects.filter(partner_import=record))


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
    by_alert_id = dict(Alert.objects.filter(alert_id__in=[a.alert_id for a in alerts]).values_list("alert_id", "pk"))
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
