"""Reads behind the account page: profile, alerts, case, usage and the accounts linked to it."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q
from django.shortcuts import get_object_or_404

from accounts.models import Account
from investigations.models import CaseMembership
from investigations.selectors import links as link_selectors

MAX_LINKED = 100


@dataclass
class LinkedAccount:
    """Another account and the indicators it shares with the one on the page."""

    account_id: str
    state: str
    reasons: list[str] = field(default_factory=list)
    case_id: int | None = None


def _short(value: str) -> str:
    """Long hashes (system prompts, tool harnesses) shortened to what a person compares by eye."""
    return value if len(value) <= 24 else f"{value[:12]}…{value[-6:]}"


def account_get_for_user(*, user: AbstractBaseUser | AnonymousUser, account_id: str) -> Account:
    if not (user.is_authenticated and user.has_perm("accounts.view_account")):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    return get_object_or_404(Account, account_id=account_id)


def account_membership(*, account: Account) -> CaseMembership | None:
    return CaseMembership.objects.filter(account=account).select_related("case", "case__assignee").first()


def linked_accounts(*, account: Account, membership: CaseMembership | None, can_view_pii: bool) -> list[LinkedAccount]:
    """Accounts sharing an indicator with this one: within its case (from the link evidence) and by profile fields.

    Profile matches (same payment fingerprint or sign-up IP) are found across all
    accounts through their indexes, so an account in no case still shows its peers.
    """
    found: dict[str, LinkedAccount] = {}
    if membership is not None:
        links = link_selectors.case_links(case=membership.case)
        mine = next((a for a in links["accounts"] if a[1] == account.account_id), None)
        if mine is not None:
            shared = set(mine[3])
            for other in links["accounts"]:
                if other[1] == account.account_id:
                    continue
                common = shared.intersection(other[3])
                if not common:
                    continue
                entry = found.setdefault(other[1], LinkedAccount(other[1], other[2], case_id=membership.case_id))
                for i in sorted(common)[:5]:
                    signal, value = links["indicators"][i][:2]
                    value = link_selectors.mask_value(signal, value, can_view_pii=can_view_pii)
                    entry.reasons.append(f"{signal}: {_short(value)}")
                if len(found) >= MAX_LINKED:
                    break
    match = Q()
    if account.payment_fingerprint:
        match |= Q(payment_fingerprint=account.payment_fingerprint)
    if account.signup_ip:
        match |= Q(signup_ip=account.signup_ip)
    if match:
        peers = (
            Account.objects.filter(match)
            .exclude(pk=account.pk)
            .only("account_id", "payment_fingerprint", "signup_ip", "enforcement", "flagged_at")[:MAX_LINKED]
        )
        for peer in peers:
            entry = found.setdefault(
                peer.account_id, LinkedAccount(peer.account_id, link_selectors.account_state(peer))
            )
            if account.payment_fingerprint and peer.payment_fingerprint == account.payment_fingerprint:
                entry.reasons.append(f"payment: {_short(peer.payment_fingerprint)}")
            if account.signup_ip and peer.signup_ip == account.signup_ip:
                entry.reasons.append(f"signup_ip: {peer.signup_ip}")  # same spelling as the evidence
    for entry in found.values():
        entry.reasons = list(dict.fromkeys(entry.reasons))
    return sorted(found.values(), key=lambda e: (-len(e.reasons), e.account_id))[:MAX_LINKED]
