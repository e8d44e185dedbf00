"""Detection state: per-account features, the indicator index, pairwise behavioural links, runs.

Everything here is derived from `accounts.Account`/`UsageEvent` and can be rebuilt
with `manage.py detect --full`. Cases themselves live in `investigations.models`
(owned by the dashboard); detection writes them through `services`.
"""

from __future__ import annotations

from django.db import models

from accounts.models import Account


class AccountFeatures(models.Model):
    """Aggregates of one account's requests, recomputed with SQL whenever a batch touches it.

    Kept as counts (not shares) so that scoring can sum them over a case and
    compare against the all-accounts baseline.
    """

    # No database FK check (as on UsageEvent): the rows are derived, written by the thousand, and a
    # deferred per-row check at commit cost a full run a fifth of its time. Django still cascades.
    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, primary_key=True, related_name="features", db_constraint=False
    )
    events = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cot_events = models.BigIntegerField(default=0)
    # Requests per upstream category, in `UsageEvent.Category` order.
    cat_chat = models.BigIntegerField(default=0)
    cat_coding = models.BigIntegerField(default=0)
    cat_agentic = models.BigIntegerField(default=0)
    cat_reasoning = models.BigIntegerField(default=0)
    cat_vision = models.BigIntegerField(default=0)
    cat_other = models.BigIntegerField(default=0)
    hours = models.JSONField(default=list, help_text="24 request counts by UTC hour of day.")
    weekdays = models.JSONField(default=list, help_text="7 request counts, Monday first.")
    distinct_ips = models.IntegerField(default=0)
    distinct_asns = models.IntegerField(default=0)
    distinct_keys = models.IntegerField(default=0)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    CATEGORY_FIELDS = ("cat_chat", "cat_coding", "cat_agentic", "cat_reasoning", "cat_vision", "cat_other")

    class Meta:
        verbose_name_plural = "account features"

    def __str__(self) -> str:
        return f"features of {self.account_id}"

    @property
    def category_counts(self) -> list[int]:
        return [getattr(self, name) for name in self.CATEGORY_FIELDS]


class Indicator(models.Model):
    """One value some account exposes ("payment fingerprint pf_9c1e55"), with how many accounts share it.

    How much sharing it says "same operator" depends on the kind and on how many
    distinct operators share it (`signals.shared_values.value_weight`), so it is
    computed at clustering time rather than stored.
    """

    class Kind(models.TextChoices):
        PAYMENT = "payment", "payment fingerprint"
        ORG = "org", "organisation id"
        SYSTEM_PROMPT = "system_prompt", "system prompt"
        TOOLS = "tools", "tool harness"
        JA4 = "ja4", "TLS fingerprint (JA4)"
        USER_AGENT = "user_agent", "user agent"
        SIGNUP_IP = "signup_ip", "sign-up IP"
        SIGNUP_NET = "signup_net", "sign-up /24"
        IP = "ip", "client IP"
        ASN = "asn", "ASN"
        EMAIL_DOMAIN = "email_domain", "e-mail domain"
        EMAIL_PATTERN = "email_pattern", "e-mail pattern"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=512)
    account_count = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="indicator_kind_value_uniq")]
        indexes = [models.Index(fields=["account_count"], name="indicator_count_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"


class AccountIndicator(models.Model):
    """Account X exposes indicator V (in `events` requests; 0 for profile values like the payment card)."""

    # Derived rows, no database FK checks (see AccountFeatures.account).
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="indicator_links", db_index=False, db_constraint=False
    )
    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="account_links", db_constraint=False
    )
    events = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "indicator"], name="account_indicator_uniq"),
        ]
        # Profile values (events = 0; values seen in events count at least one): after a batch, an
        # account's profile rows are compared with its profile without reading its event-value rows.
        indexes = [
            models.Index(
                fields=["account", "indicator"], condition=models.Q(events=0), name="account_profile_values_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} has {self.indicator_id}"


class AccountBatch(models.Model):
    """How many of a batch's events an account's features and indicator rows already include.

    After a batch, detection adds the batch's events to the per-account state
    (`batches.batch_apply`) instead of re-reading every event of every account
    it touched; this record makes that exact: a batch already counted is not
    added twice (a retried task), and an account whose count differs (a batch
    detected while it was still loading) is recomputed from all its events.
    A recompute rewrites the account's records from the same pass over events.
    """

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    batch_id = models.BigIntegerField(null=True, blank=True)
    events = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "batch_id"], name="account_batch_uniq")]

    def __str__(self) -> str:
        return f"{self.account_id} includes {self.events} events of batch {self.batch_id}"


class AccountLink(models.Model):
    """A behavioural link between two accounts found by one signal (`account_a_id < account_b_id`).

    Indicator links are not stored pairwise (a system prompt shared by 5,000
    accounts would be 12 million rows); they are read from the indicator index.
    Behavioural signals (near-identical prompts in time, synchronized activity,
    sign-up bursts) are pairwise by nature and are kept here with their evidence.
    """

    class Signal(models.TextChoices):
        PROMPT_ECHO = "prompt_echo", "near-identical prompts close in time"
        SYNC_ACTIVITY = "sync_activity", "synchronized activity"
        SIGNUP_BURST = "signup_burst", "sign-up burst with one e-mail pattern"

    # Derived rows, written by the hundred thousand: no database FK check (see AccountFeatures), and
    # no per-column indexes: the pair constraint leads with account_a, `account_link_b_idx` serves
    # account_b (Django's default FK index duplicated it: five indexes to write per link, now three).
    account_a = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    account_b = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    signal = models.CharField(max_length=16, choices=Signal.choices)
    weight = models.FloatField()
    count = models.IntegerField(default=1, help_text="How many observations support the link (e.g. prompt pairs).")
    detail = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account_a", "account_b", "signal"], name="account_link_pair_uniq"),
        ]
        indexes = [models.Index(fields=["account_b"], name="account_link_b_idx")]

    def __str__(self) -> str:
        return f"{self.account_a_id}~{self.account_b_id} ({self.signal})"


class ActivityWindows(models.Model):
    """The 10-minute windows a flagged account was active in, over the synchronized-activity look-back.

    Kept so that a batch's run re-reads the events of the batch's flagged accounts only, not
    those of every flagged account (`signals.sync_activity`). Windows are window numbers
    (epoch seconds // window length) as little-endian int64, sorted.
    """

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, primary_key=True, related_name="+", db_constraint=False
    )
    windows = models.BinaryField()

    class Meta:
        verbose_name_plural = "activity windows"

    def __str__(self) -> str:
        return f"activity windows of {self.account_id}"


class DetectionRun(models.Model):
    """One run of the pipeline (after a batch, or on demand), with its figures for the UI and benchmarks."""

    class Mode(models.TextChoices):
        FULL = "full"
        INCREMENTAL = "incremental"

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    mode = models.CharField(max_length=16, choices=Mode.choices)
    batch_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"detection run {self.pk} ({self.mode}, {self.status})"
