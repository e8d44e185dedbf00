"""API accounts under watch and their request metadata (the batch format's `account` and `event`)."""

from __future__ import annotations

from django.db import models
from django.urls import reverse


class Account(models.Model):
    """One API account of the provider.

    Created either from an `account` snapshot or, when only events or alerts
    name it, as a stub (`created_at` is then unknown). Snapshot fields follow
    "last batch wins": `snapshot_batch_id`/`snapshot_line` order snapshots so a
    re-run of an old batch never overwrites a newer value.
    """

    class Tier(models.TextChoices):
        FREE = "free"
        BUILD = "build"
        SCALE = "scale"
        ENTERPRISE = "enterprise"
        EDUCATION = "education"
        RESEARCH = "research"

    class Verification(models.TextChoices):
        NONE = "none"
        EMAIL = "email"
        PHONE = "phone"
        ID_DOCUMENT = "id_document", "ID document"
        INSTITUTION = "institution"

    class ProviderStatus(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"
        BANNED = "banned"

    class Enforcement(models.TextChoices):
        """What Hydra Watch itself has decided about the account."""

        NONE = "none", "Not enforced"
        BANNED = "banned", "Banned"

    account_id = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField(null=True, blank=True, help_text="Sign-up time; empty for stubs.")
    email = models.CharField(max_length=254, blank=True)
    org_id = models.CharField(max_length=128, blank=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, blank=True)
    verification = models.CharField(max_length=16, choices=Verification.choices, blank=True)
    country = models.CharField(max_length=2, blank=True)
    payment_fingerprint = models.CharField(max_length=128, blank=True)
    signup_ip = models.GenericIPAddressField(null=True, blank=True)
    signup_user_agent = models.CharField(max_length=512, blank=True)
    provider_status = models.CharField(max_length=16, choices=ProviderStatus.choices, blank=True)

    enforcement = models.CharField(max_length=16, choices=Enforcement.choices, default=Enforcement.NONE)
    enforcement_changed_at = models.DateTimeField(null=True, blank=True)
    # Set when the first alert arrives: "an account with at least one alert is flagged".
    flagged_at = models.DateTimeField(null=True, blank=True)

    snapshot_batch_id = models.BigIntegerField(null=True, blank=True)
    snapshot_line = models.IntegerField(null=True, blank=True)
    # Per-field (batch id, line) of the snapshot that last set each field: omitted fields keep
    # their values, so "last batch wins" has to be decided field by field (see ingest.snapshots).
    snapshot_versions = models.JSONField(default=dict, blank=True)
    # The batch that created the row (snapshot or stub): its snapshots count as new, not as updates.
    first_batch_id = models.BigIntegerField(null=True, blank=True)
    first_ingested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["payment_fingerprint"], name="account_payment_idx"),
            models.Index(fields=["email"], name="account_email_idx"),
            models.Index(fields=["org_id"], name="account_org_idx"),
            models.Index(fields=["flagged_at"], name="account_flagged_idx"),
        ]

    def __str__(self) -> str:
        return self.account_id

    def get_absolute_url(self) -> str:
        return reverse("account-detail", args=[self.account_id])

    @property
    def is_flagged(self) -> bool:
        return self.flagged_at is not None

    @property
    def is_banned(self) -> bool:
        return self.enforcement == self.Enforcement.BANNED

    @property
    def is_stub(self) -> bool:
        return self.created_at is None

    @property
    def email_domain(self) -> str:
        return self.email.rpartition("@")[2].lower() if "@" in self.email else ""


class UsageEvent(models.Model):
    """Metadata of one API request: the big table (16 million rows for the reference campaign).

    Read per account and time range, so the one composite index is (account, ts).
    `event_id` is unique: the same request in two batches is stored once.
    `prompt_simhash` is the spec's 64-bit SimHash stored as a signed bigint
    (see `accounts.simhash`) so that Hamming distances are integer operations.
    """

    class Category(models.TextChoices):
        CHAT = "chat"
        CODING = "coding"
        AGENTIC = "agentic"
        REASONING = "reasoning"
        VISION = "vision"
        OTHER = "other"

    # On PostgreSQL the column is COLLATE "C" (migration 0006, kept out of the model because SQLite has
    # no such collation): a migration that alters this field must re-apply it.
    event_id = models.CharField(max_length=128, unique=True)
    # No database-level foreign key: the loader only inserts events joined to existing accounts, and a
    # deferred FK check per row cost as much as the insert itself (bench/ingest.py). Django still
    # cascades deletes.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="events", db_index=False, db_constraint=False
    )
    ts = models.DateTimeField()
    api_key_id = models.CharField(max_length=128, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    asn = models.BigIntegerField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    ja4 = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=64, blank=True)
    input_tokens = models.IntegerField(null=True, blank=True)
    output_tokens = models.IntegerField(null=True, blank=True)
    category = models.CharField(max_length=16, choices=Category.choices, blank=True)
    cot_requested = models.BooleanField(null=True, blank=True)
    system_prompt_sha256 = models.CharField(max_length=64, blank=True)
    tools_sha256 = models.CharField(max_length=64, blank=True)
    prompt_simhash = models.BigIntegerField(null=True, blank=True)
    prompt_excerpt = models.CharField(max_length=500, blank=True)
    # Provenance without a foreign-key check on every inserted row.
    batch_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "ts"], name="event_account_ts_idx")]

    def __str__(self) -> str:
        return self.event_id
