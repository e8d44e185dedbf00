"""Who signs up: account ids, names and e-mail addresses, payment fingerprints, countries.

Ids are random-looking (derived from the seed), so nothing about an id says
which operator owns it: the ground truth lives only in the truth file.
"""

from __future__ import annotations

import random

_FIRST = [
    "maria", "li", "wei", "james", "anna", "omar", "yuki", "lucas", "sofia", "arjun", "chen", "fatima", "noah",
    "elena", "david", "priya", "ivan", "sara", "kenji", "ana", "mohammed", "julia", "tom", "mei", "ahmed", "lena",
    "carlos", "hana", "raj", "olga", "minh", "zoe", "felix", "amara", "jun", "nina", "pedro", "aisha", "max", "linh",
]  # fmt: skip
_LAST = [
    "kovacs", "wang", "smith", "garcia", "tanaka", "muller", "silva", "khan", "nguyen", "rossi", "kim", "patel",
    "novak", "dubois", "ivanova", "lopez", "sato", "cohen", "ali", "berg", "zhang", "costa", "okafor", "larsen",
]  # fmt: skip
_FREEMAIL = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com", "hotmail.com", "gmx.de", "qq.com"]

# Country -> (UTC offset in hours, weight among ordinary users).
COUNTRIES = {
    "US": (-6, 24), "IN": (5.5, 10), "GB": (0, 7), "DE": (1, 7), "BR": (-3, 6), "FR": (1, 5), "CA": (-5, 5),
    "JP": (9, 5), "KR": (9, 4), "SG": (8, 3), "AU": (10, 3), "NL": (1, 3), "PL": (1, 3), "ES": (1, 3),
    "MX": (-6, 3), "ID": (7, 3), "VN": (7, 2), "NG": (1, 2), "TR": (3, 2), "HK": (8, 1), "MY": (8, 1), "TH": (7, 1),
}  # fmt: skip
_COUNTRY_CODES = list(COUNTRIES)
_COUNTRY_WEIGHTS = [w for _, w in COUNTRIES.values()]


def hex_id(rng: random.Random, length: int = 12) -> str:
    return f"{rng.getrandbits(4 * length):0{length}x}"


def account_id(rng: random.Random) -> str:
    return f"acct_{hex_id(rng)}"


def payment_fingerprint(rng: random.Random) -> str:
    return f"pf_{hex_id(rng, 16)}"


def api_key_id(rng: random.Random) -> str:
    return f"key_{hex_id(rng, 10)}"


def country(rng: random.Random) -> str:
    return rng.choices(_COUNTRY_CODES, weights=_COUNTRY_WEIGHTS)[0]


def tz_of(country_code: str) -> float:
    return COUNTRIES.get(country_code, (0, 0))[0]


def personal_email(rng: random.Random, domain: str | None = None) -> str:
    """An e-mail an individual would choose: varied shapes and providers."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    shape = rng.randrange(5)
    if shape == 0:
        local = f"{first}.{last}"
    elif shape == 1:
        local = f"{first[0]}{last}"
    elif shape == 2:
        local = f"{first}{rng.randrange(1, 99)}"
    elif shape == 3:
        local = f"{first}_{last}{rng.randrange(1950, 2006)}"
    else:
        local = f"{last}.{first[0]}"
    return f"{local}@{domain or rng.choice(_FREEMAIL)}"


def pattern_email(name: str, number: int, domain: str) -> str:
    """The sign-up-burst pattern: one name stem plus a counter at one domain."""
    return f"{name}{number}@{domain}"


def pattern_stem(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)}{rng.choice(_LAST)[:3]}"


def burst_domain(rng: random.Random) -> str:
    """A cheap domain an operator registers for mass sign-ups."""
    stem = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randrange(5, 9)))
    return f"{stem}-mail.{rng.choice(['net', 'com', 'xyz', 'top', 'io'])}"


def company_domain(rng: random.Random) -> str:
    stem = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randrange(4, 9)))
    return f"{stem}.{rng.choice(['io', 'dev', 'com', 'co'])}"
