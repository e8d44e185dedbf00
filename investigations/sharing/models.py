"""Sharing with partner labs: communities (TAXII collections), partners, publications, imports.

A publication is one approved version of a bundle; every object it contains is
also stored as a `TaxiiObject` row so the TAXII server pages, filters and lists
versions with plain indexed queries instead of re-parsing bundles.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.urls import reverse

from accounts.models import Account
from investigations.models import Alert, Case


class Tlp(models.TextChoices):
    """TLP 2.0 levels; the STIX marking ids live in `sharing.tlp`."""

    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber+strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"


class SharingCommunity(models.Model):
    """A group of labs that share one TAXII collection and one key for keyed hashes."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    collection_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Which entry of settings.SHARING_COMMUNITY_KEYS hashes identifiers for this community.
    key_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "sharing communities"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Partner(models.Model):
    """A partner lab: its TAXII credentials with us, its signing key, and its own feed to poll."""

    name = models.CharField(max_length=120, unique=True)
    username = models.CharField(max_length=64, unique=True, help_text="HTTP Basic user for our TAXII server.")
    password_hash = models.CharField(max_length=256)
    communities = models.ManyToManyField(SharingCommunity, blank=True, related_name="partners")
    public_jwk = models.JSONField(null=True, blank=True, help_text="Ed25519 JWK that verifies the partner's bundles.")
    is_active = models.BooleanField(default=True)
    # The partner's own TAXII collection, polled by Celery beat.
    poll_url = models.URLField(max_length=500, blank=True)
    poll_username = models.CharField(max_length=128, blank=True)
    poll_password = models.CharField(max_length=256, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_poll_added = models.CharField(max_length=40, blank=True, help_text="X-TAXII-Date-Added-Last seen.")
    last_poll_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_password(self, raw: str) -> None:
        self.password_hash = make_password(raw)

    def check_password(self, raw: str) -> bool:
        return check_password(raw, self.password_hash)


class StableStixId(models.Model):
    """The STIX id, creation time and last content of one exported thing.

    Re-exporting the same case reuses the id and keeps `modified` unless the
    content changed, so partners update objects instead of collecting duplicates.
    """

    key = models.CharField(max_length=300, unique=True)
    stix_id = models.CharField(max_length=120, unique=True)
    created = models.CharField(max_length=40)
    modified = models.CharField(max_length=40, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return self.key


class Publication(models.Model):
    """One version of a bundle for one or more cases, from draft to published."""

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        PUBLISHED = "published"
        REJECTED = "rejected"
        SUPERSEDED = "superseded", "Superseded (cases changed before approval)"

    cases = models.ManyToManyField(Case, related_name="publications")
    scope_key = models.CharField(max_length=200, db_index=True, help_text="Sorted case ids, e.g. '3,7'.")
    community = models.ForeignKey(SharingCommunity, on_delete=models.PROTECT, related_name="publications")
    tlp = models.CharField(max_length=16, choices=Tlp.choices, default=Tlp.AMBER)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_APPROVAL)
    version = models.PositiveIntegerField(default=1)
    bundle = models.JSONField()
    bundle_sha256 = models.CharField(max_length=64)
    jws = models.TextField(blank=True)
    # What the preview showed: {"included": [...], "withheld": [...], "rule": "...", "diff": {...}}
    summary = models.JSONField(default=dict)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"Publication {self.pk} (cases {self.scope_key}, v{self.version})"

    def get_absolute_url(self) -> str:
        return reverse("sharing-publication", args=[self.pk])


class TaxiiObject(models.Model):
    """One version of one published STIX object in one community's collection."""

    community = models.ForeignKey(SharingCommunity, on_delete=models.CASCADE, related_name="taxii_objects")
    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="taxii_objects")
    stix_id = models.CharField(max_length=120)
    stix_type = models.CharField(max_length=64)
    version = models.CharField(max_length=40, help_text="`modified`, or `created` for objects without one.")
    date_added = models.DateTimeField()
    is_latest = models.BooleanField(default=True)
    is_first = models.BooleanField(default=True)
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the object's RFC 8785 canonical JSON.")
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "stix_id", "version"], name="taxii_object_version_unique")
        ]
        indexes = [
            models.Index(fields=["community", "id"], name="taxii_obj_comm_id_idx"),
            models.Index(fields=["community", "stix_id"], name="taxii_obj_comm_stix_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.stix_id} @ {self.version}"


class PartnerImport(models.Model):
    """One bundle received from a partner (upload or TAXII poll) and what came of it."""

    class Source(models.TextChoices):
        UPLOAD = "upload"
        TAXII = "taxii", "TAXII poll"
        API = "api", "REST API"

    class Signature(models.TextChoices):
        VERIFIED = "verified"
        UNSIGNED = "unsigned", "Not signed (partner has no key on file)"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="imports")
    source = models.CharField(max_length=16, choices=Source.choices)
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    signature = models.CharField(max_length=16, choices=Signature.choices)
    object_count = models.IntegerField(default=0)
    indicator_count = models.IntegerField(default=0)
    match_count = models.IntegerField(default=0)
    alert_count = models.IntegerField(default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import {self.pk} from {self.partner}"

    def get_absolute_url(self) -> str:
        return reverse("sharing-import", args=[self.pk])


class PartnerIndicator(models.Model):
    """One matchable value from a partner's STIX indicator (a pattern can yield several)."""

    class Kind(models.TextChoices):
        IPV4 = "ipv4", "IPv4 address"
        IPV6 = "ipv6", "IPv6 address"
        ASN = "asn", "Autonomous system"
        EMAIL_DOMAIN = "email-domain", "E-mail domain"
        EMAIL_HASH = "email-hmac", "Keyed hash of e-mail"
        PAYMENT_HASH = "payment-hmac", "Keyed hash of payment instrument"
        PROMPT_SHA256 = "prompt-sha256", "Prompt/tools SHA-256"
        SYSTEM_PROMPT = "system-prompt", "System prompt SHA-256"
        TOOLS = "tools", "Tool harness SHA-256"
        SIMHASH = "simhash", "Prompt SimHash"
        JA4 = "ja4", "JA4 TLS fingerprint"
        USER_AGENT = "user-agent", "User agent"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="indicators")
    partner_import = models.ForeignKey(PartnerImport, on_delete=models.CASCADE, related_name="indicators")
    stix_id = models.CharField(max_length=120)
    stix_modified = models.CharField(max_length=40, blank=True)
    name = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    pattern = models.TextField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=512)
    key_id = models.CharField(max_length=64, blank=True, help_text="Community key of a keyed hash.")
    tlp = models.CharField(max_length=16, choices=Tlp.choices)
    confidence = models.IntegerField(null=True, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "stix_id", "kind", "value"], name="partner_indicator_unique")
        ]
        indexes = [models.Index(fields=["kind", "value"], name="partner_ind_kind_value_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.partner_id}"


class PartnerMatch(models.Model):
    """A partner indicator that matched one of our accounts, and the alert it raised."""

    indicator = models.ForeignKey(PartnerIndicator, on_delete=models.CASCADE, related_name="matches")
    partner_import = models.ForeignKey(PartnerImport, on_delete=models.CASCADE, related_name="matches")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    alert = models.ForeignKey(Alert, null=True, on_delete=models.SET_NULL, related_name="+")
    matched_on = models.CharField(max_length=200, help_text="Where we saw the value, e.g. '14 events'.")
    event_count = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["indicator", "account"], name="partner_match_unique")]

    def __str__(self) -> str:
        return f"{self.indicator_id} -> {self.account_id}"
