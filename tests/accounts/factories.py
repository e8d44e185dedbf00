"""One factory per model of the accounts app."""

from __future__ import annotations

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import Account, UsageEvent


class AccountFactory(DjangoModelFactory[Account]):
    class Meta:
        model = Account
        django_get_or_create = ("account_id",)

    account_id = factory.Sequence(lambda n: f"acct_{n:06d}")
    created_at = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(days=30))
    email = factory.Faker("email")
    tier = Account.Tier.BUILD
    verification = Account.Verification.EMAIL
    country = "DE"
    payment_fingerprint = factory.Sequence(lambda n: f"pf_{n:08x}")
    signup_ip = factory.Faker("ipv4_public")
    signup_user_agent = "Mozilla/5.0 (X11; Linux x86_64)"


class UsageEventFactory(DjangoModelFactory[UsageEvent]):
    class Meta:
        model = UsageEvent

    event_id = factory.Sequence(lambda n: f"evt_{n:09d}")
    account = factory.SubFactory(AccountFactory)
    ts = factory.LazyFunction(timezone.now)
    ip = factory.Faker("ipv4_public")
    asn = 64500
    user_agent = "python-httpx/0.27"
    model = "model-large"
    input_tokens = 800
    output_tokens = 1200
    category = UsageEvent.Category.CODING
    cot_requested = False
