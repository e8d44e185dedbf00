"""Alerts, investigation cases, their members and notes, and the append-only audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.models import Account

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Alert(models.Model):
    """One detector's flag on one account (the batch format's `alert`), and its triage state.

    Upstream alerts keep the upstream `alert_id`. Alerts Hydra Watch raises itself
    (partner-indicator matches, detection changes) use ids prefixed `hw:`.
    """

    class Severity(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"
        CRITICAL = "critical"

    class Status(models.TextChoices):
        NEW = "new"
        ACKNOWLEDGED = "acknowledged"
        DISMISSED = "dismissed"

    class Source(models.TextChoices):
        UPSTREAM = "upstream", "Upstream detector"
        PARTNER = "partner", "Partner indicator"
        SYSTEM = "system", "Hydra Watch"

    alert_id = models.CharField(max_length=128, unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="alerts")
    detector = models.CharField(max_length=128)
    score = models.FloatField()
    raised_at = models.DateTimeField()
    severity = models.CharField(max_length=16, choices=Severity.choices, blank=True)
    summary = models.TextField(max_length=2000, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.UPSTREAM)
    batch_id = models.BigIntegerField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    case = models.ForeignKey("Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    dismiss_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "-raised_at"], name="alert_status_raised_idx"),
            models.Index(fields=["-raised_at"], name="alert_raised_idx"),
            models.Index(fields=["detector"], name="alert_detector_idx"),
            # The queue's other sorts, and "all alerts of this account" on the account page.
            models.Index(fields=["status", "-score"], name="alert_status_score_idx"),
            models.Index(fields=["-score", "-id"], name="alert_score_idx"),
            models.Index(fields=["account", "-raised_at"], name="alert_account_raised_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.detector} on {self.account_id}"


class CaseQuerySet(models.QuerySet["Case"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> CaseQuerySet:
        """Cases the user may read: any role sees every case; no role, none."""
        if user.is_authenticated and user.has_perm("investigations.view_case"):
            return self
        return self.none()

    def open(self) -> CaseQuerySet:
        return self.exclude(status=Case.Status.CLOSED)


class Case(models.Model):
    """An investigation: the accounts one operator is believed to control.

    Detection opens and grows cases; analysts move them through the workflow.
    Once an analyst has touched a case (`analyst_touched_at`), detection never
    silently removes an account from it.
    """

    class Status(models.TextChoices):
        NEW = "new"
        INVESTIGATING = "investigating"
        ACTIONED = "actioned"
        CLOSED = "closed"

    class Resolution(models.TextChoices):
        CONFIRMED_ATTACK = "confirmed_attack", "Confirmed attack"
        LEGITIMATE = "legitimate"
        INCONCLUSIVE = "inconclusive"

    title = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_cases"
    )
    risk_score = models.FloatField(default=0.0)
    # [{"factor": "cot_elicitation", "weight": 0.3, "value": 0.82, "text": "82% of requests ask for ..."}]
    risk_reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    analyst_touched_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-risk_score", "-created_at"]
        indexes = [models.Index(fields=["status", "-risk_score"], name="case_status_risk_idx")]
        permissions = [
            ("view_pii", "See e-mails and prompt excerpts"),
            ("triage_alert", "Acknowledge, dismiss and attach alerts"),
            ("manage_case", "Change case status, assignment, notes and membership"),
            ("upload_batch", "Upload batches"),
            ("ban_account", "Ban and unban accounts"),
            ("approve_enforcement", "Approve large enforcement actions"),
            ("export_indicators", "Prepare indicator bundles"),
            ("approve_sharing", "Approve publication of indicator bundles"),
            ("view_audit", "Browse and export the audit log"),
            ("manage_partners", "Manage partner labs and their credentials"),
        ]

    class RiskLevel(models.TextChoices):
        """Bands of `risk_score` used for filters, colours and the overview."""

        HIGH = "high"
        MEDIUM = "medium"
        LOW = "low"

    # Lower bounds of the risk bands; a score below MEDIUM is low.
    RISK_HIGH = 0.7
    RISK_MEDIUM = 0.4

    # Which statuses an analyst may move a case to from each status. Closing needs a resolution.
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        Status.NEW: (Status.INVESTIGATING, Status.ACTIONED, Status.CLOSED),
        Status.INVESTIGATING: (Status.ACTIONED, Status.CLOSED),
        Status.ACTIONED: (Status.INVESTIGATING, Status.CLOSED),
        Status.CLOSED: (Status.INVESTIGATING,),
    }

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("case-detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED

    @classmethod
    def risk_level_of(cls, score: float) -> str:
        if score >= cls.RISK_HIGH:
            return cls.RiskLevel.HIGH
        if score >= cls.RISK_MEDIUM:
            return cls.RiskLevel.MEDIUM
        return cls.RiskLevel.LOW

    @property
    def risk_level(self) -> str:
        return self.risk_level_of(self.risk_score)

    @property
    def next_statuses(self) -> tuple[str, ...]:
        # A merged case lives on in its target: reopening it would split the work in two.
        if self.merged_into_id:
            return ()
        return self.TRANSITIONS.get(self.status, ())


class CaseMembership(models.Model):
    """An account in a case, with the evidence that put it there.

    An account is in at most one case. `evidence` is a list of links, each
    `{"signal", "value", "peers", "weight", "text"}`, rendered on the case page.
    `pinned` marks an analyst's placement, which detection must respect.
    """

    class Source(models.TextChoices):
        DETECTION = "detection"
        ANALYST = "analyst"
        PARTNER = "partner"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.DETECTION)
    evidence = models.JSONField(default=list, blank=True)
    link_strength = models.FloatField(default=0.0)
    pinned = models.BooleanField(default=False)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account"], name="membership_one_case_per_account")]
        indexes = [models.Index(fields=["case", "account"], name="membership_case_account_idx")]

    def __str__(self) -> str:
        return f"{self.account_id} in case {self.case_id}"


class Note(models.Model):
    """An analyst's markdown note on a case (rendered through an allow-list sanitizer)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=20_000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Note {self.pk} on case {self.case_id}"


class AggregateSnapshot(models.Model):
    """A stored aggregate behind a chart or table (case timeline, cluster graph, overview).

    Charts over millions of events cost seconds to aggregate, so the result is
    kept here with the `version` of the data it was computed from (the latest
    event id, the case's membership fingerprint, ...). A reader whose current
    version differs recomputes; nothing else ever needs to invalidate it.
    """

    key = models.CharField(max_length=200, unique=True)
    version = models.CharField(max_length=200)
    data = models.JSONField()
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key} @ {self.version}"


class AuditEntry(models.Model):
    """One state change: who, when, what, on which object, why, before and after.

    Append-only: a database trigger (migration 0002) refuses UPDATE and DELETE,
    and the admin is read-only. Write rows only through `services.audit.audit_record`.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_name = models.CharField(max_length=150, help_text="Username at the time, or 'system'.")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=128, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action}"
