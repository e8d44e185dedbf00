"""Writes on case notes."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from investigations.models import Case, Note
from investigations.services.audit import audit_record

MAX_NOTE_CHARS = 20_000


@transaction.atomic
def note_add(*, case: Case, author: AbstractBaseUser, body: str) -> Note:
    """Add a markdown note; it is stored as written and sanitised when rendered."""
    body = body.strip()
    if not body:
        raise ValidationError("A note cannot be empty.")
    if len(body) > MAX_NOTE_CHARS:
        raise ValidationError(f"A note is at most {MAX_NOTE_CHARS:,} characters; this one has {len(body):,}.")
    note = Note.objects.create(case=case, author=author, body=body)
    Case.objects.filter(pk=case.pk).update(analyst_touched_at=timezone.now())
    audit_record(
        actor=author,
        action="case.note_added",
        obj=case,
        after={"note": note.pk, "chars": len(body)},
    )
    return note
