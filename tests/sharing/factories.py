"""One factory per model of the sharing app."""

from __future__ import annotations

import hashlib

import factory
from factory.django import DjangoModelFactory

from investigations.sharing.models import Partner, SharingCommunity


class SharingCommunityFactory(DjangoModelFactory[SharingCommunity]):
    class Meta:
        model = SharingCommunity
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"AI-ISAC {n}")
    key_id = "test-2026"


class PartnerFactory(DjangoModelFactory[Partner]):
    class Meta:
        model = Partner
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Partner Lab {n}")
    username = factory.Sequence(lambda n: f"partner{n}")
    password_hash = "sha256$" + hashlib.sha256(b"partner-pw").hexdigest()

    @factory.post_generation
    def communities(self, create: bool, extracted: list[SharingCommunity] | None, **kwargs: object) -> None:
        if create and extracted:
            self.communities.set(extracted)
