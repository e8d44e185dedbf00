"""Enforcement actions (ban/unban requests with four-eyes approval) and the per-account changes they cause.

An `EnforcementAction` is what a person asked for: which accounts, why, and
whether it waits for a lead. Applying it writes one `EnforcementChange` per
account whose state really changed. A change is both the account's
enforcement history and the outbox row delivered to the API gateway: it is
written in the same transaction as the ban, so the gateway can never miss one.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account


class EnforcementAction(models.Model):
    """One person's request to ban or unban a set of accounts."""

    class Kind(models.TextChoices):
        BAN = "ban"
        UNBAN = "unban"

    class Status(models.TextChoices):
        APPLIED = "applied"
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        REJECTED = "rejected"

    class Scope(models.TextChoices):
        SELECTION = "selection", "Selected accounts"
        FLAGGED = "flagged", "Flagged accounts of the case"
        ALL = "all", "All accounts of the case (incl. linked, not flagged)"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    reason = models.TextField(max_length=2000)
    status = models.CharField(max_length=20, choices=Status.choices)
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.SELECTION)
    case = models.ForeignKey(
        "investigations.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="enforcement_actions"
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(max_length=2000, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    # Why the action waits for a lead (the four-eyes rule that caught it); empty when it applied directly.
    approval_reason = models.CharField(max_length=300, blank=True)
    # Denormalised counts so lists never count 1,500 items per row.
    account_count = models.PositiveIntegerField(default=0)
    changed_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "-requested_at"], name="enf_action_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.account_count} accounts)"

    def get_absolute_url(self) -> str:
        return reverse("enforcement:action-detail", args=[self.pk])

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING_APPROVAL

    @property
    def target_state(self) -> str:
        return Account.Enforcement.BANNED if self.kind == self.Kind.BAN else Account.Enforcement.NONE


class EnforcementActionItem(models.Model):
    """One account named by an action, fixed at request time so the approver sees exactly what was asked."""

    action = models.ForeignKey(EnforcementAction, on_delete=models.CASCADE, related_name="items")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="enforcement_items")
    was_flagged = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["action", "account"], name="enf_item_unique_account")]

    def __str__(self) -> str:
        return f"{self.account_id} in action {self.action_id}"


class EnforcementChange(models.Model):
    """One account's enforcement state change: its history row and its outbox row for the gateway.

    `account_seq` numbers an account's changes 1, 2, 3...; delivery sends an
    account's changes in that order (a change is sent only once every earlier
    one has been delivered). `idempotency_key` travels with every attempt, so
    the gateway can drop duplicates after a crash or a re-send.
    """

    class Delivery(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        DELIVERED = "delivered"
        FAILED = "failed", "Failed, will retry"

    action = models.ForeignKey(EnforcementAction, on_delete=models.PROTECT, related_name="changes")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="enforcement_changes")
    kind = models.CharField(max_length=8, choices=EnforcementAction.Kind.choices)
    before = models.CharField(max_length=16, choices=Account.Enforcement.choices)
    after = models.CharField(max_length=16, choices=Account.Enforcement.choices)
    account_seq = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    delivery_state = models.CharField(max_length=12, choices=Delivery.choices, default=Delivery.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["account", "account_seq"], name="enf_change_account_seq")]
        indexes = [
            models.Index(fields=["account", "id"], name="enf_change_account_idx"),
            models.Index(fields=["action", "delivery_state"], name="enf_change_action_state_idx"),
            # The delivery worker only ever looks at what is not delivered yet.
            models.Index(
                fields=["account", "id"],
                name="enf_change_undelivered_idx",
                condition=~Q(delivery_state="delivered"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.account_id} #{self.account_seq}"
