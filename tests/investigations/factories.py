"""One factory per model of the investigations app."""

from __future__ import annotations

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from investigations.models import Alert, Case, CaseMembership, Note
from tests.accounts.factories import AccountFactory


class AlertFactory(DjangoModelFactory[Alert]):
    class Meta:
        model = Alert

    alert_id = factory.Sequence(lambda n: f"alrt_{n:07d}")
    account = factory.SubFactory(AccountFactory)
    detector = "volume-anomaly"
    score = 0.8
    raised_at = factory.LazyFunction(timezone.now)
    severity = Alert.Severity.HIGH
    summary = "Unusual output-token volume"


class CaseFactory(DjangoModelFactory[Case]):
    class Meta:
        model = Case

    title = factory.Sequence(lambda n: f"Operator HW-{n:04d}")
    risk_score = 0.5


class CaseMembershipFactory(DjangoModelFactory[CaseMembership]):
    class Meta:
        model = CaseMembership

    case = factory.SubFactory(CaseFactory)
    account = factory.SubFactory(AccountFactory)


class NoteFactory(DjangoModelFactory[Note]):
    class Meta:
        model = Note

    case = factory.SubFactory(CaseFactory)
    author = factory.SubFactory("tests.investigations.factories.UserFactory")
    body = "Seen the same harness on **three** accounts."


class UserFactory(DjangoModelFactory):
    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
