"""Where requests come from: autonomous systems, their address ranges, proxy pools and VPN exits.

Every ASN owns a few /16 prefixes chosen from its number (not from the run's
seed), so an address always maps to the same ASN, as it would in a real
routing table. Big clouds and VPN exits are shared by many unrelated people:
detection has to weigh those values little.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

# (asn, name, country); names only document the choice.
CLOUD_ASNS = [(16509, "Amazon", "US"), (15169, "Google", "US"), (8075, "Microsoft", "US"), (14618, "Amazon", "US")]
HOSTING_ASNS = [
    (14061, "DigitalOcean", "US"),
    (24940, "Hetzner", "DE"),
    (16276, "OVH", "FR"),
    (63949, "Akamai Linode", "US"),
    (20473, "Vultr", "US"),
    (51167, "Contabo", "DE"),
    (45102, "Alibaba", "SG"),
    (132203, "Tencent", "SG"),
    (9009, "M247", "GB"),
    (212238, "Datacamp", "GB"),
    (62240, "Clouvider", "GB"),
    (36352, "ColoCrossing", "US"),
]
RESIDENTIAL_ASNS = {
    "US": [7922, 7018, 701, 20115, 22773],
    "CA": [812, 577],
    "MX": [8151],
    "BR": [28573, 18881],
    "GB": [2856, 5089],
    "DE": [3320, 3209],
    "FR": [3215, 12322],
    "NL": [1136],
    "PL": [5617],
    "ES": [3352],
    "IN": [55836, 24560],
    "SG": [4773, 9506],
    "JP": [4713, 17676],
    "KR": [4766, 9318],
    "AU": [1221, 4804],
    "ID": [7713],
    "VN": [45899, 7552],
    "NG": [29465],
    "TR": [9121],
    "HK": [4760, 9269],
    "MY": [4788],
    "TH": [45758],
}
VPN_ASN = 9009  # a commercial VPN's exits live in a hosting network
EDUCATION_ASNS = [1103, 786, 680, 2200]  # research-and-education networks

_EXCLUDED_FIRST_OCTETS = {0, 10, 100, 127, 169, 172, 192, 198, 203, 224}


def _prefixes(asn: int, count: int = 3) -> list[tuple[int, int]]:
    """The /16 prefixes an ASN announces, derived from its number only."""
    digest = hashlib.blake2b(str(asn).encode(), digest_size=16).digest()
    out = []
    for i in range(count):
        first = 11 + digest[2 * i] % 212
        while first in _EXCLUDED_FIRST_OCTETS:
            first += 1
        out.append((first, digest[2 * i + 1]))
    return out


_PREFIX_CACHE: dict[int, list[tuple[int, int]]] = {}


def address_in(asn: int, rng: random.Random) -> str:
    """A host address inside one of `asn`'s prefixes."""
    prefixes = _PREFIX_CACHE.get(asn)
    if prefixes is None:
        prefixes = _PREFIX_CACHE[asn] = _prefixes(asn)
    first, second = prefixes[rng.randrange(len(prefixes))]
    return f"{first}.{second}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def residential_asn(country: str, rng: random.Random) -> int:
    options = RESIDENTIAL_ASNS.get(country) or RESIDENTIAL_ASNS["US"]
    return options[rng.randrange(len(options))]


@dataclass(frozen=True)
class Endpoint:
    ip: str
    asn: int


def residential_endpoint(country: str, rng: random.Random) -> Endpoint:
    asn = residential_asn(country, rng)
    return Endpoint(address_in(asn, rng), asn)


def cloud_endpoint(rng: random.Random) -> Endpoint:
    asn = CLOUD_ASNS[rng.randrange(len(CLOUD_ASNS))][0]
    return Endpoint(address_in(asn, rng), asn)


def vpn_exits(rng: random.Random, count: int = 4) -> list[Endpoint]:
    """A few exits of a popular VPN, each shared by hundreds of unrelated users."""
    return [Endpoint(address_in(VPN_ASN, rng), VPN_ASN) for _ in range(count)]


def proxy_pool(rng: random.Random, *, size: int, residential_share: float) -> list[Endpoint]:
    """A rented proxy pool: residential exits across many countries plus hosting ranges.

    Residential proxies are what make a harvester hard to block by ASN: its
    addresses sit in the same consumer networks as ordinary users.
    """
    countries = sorted(RESIDENTIAL_ASNS)
    pool = []
    for _ in range(size):
        if rng.random() < residential_share:
            asn = residential_asn(countries[rng.randrange(len(countries))], rng)
        else:
            asn = HOSTING_ASNS[rng.randrange(len(HOSTING_ASNS))][0]
        pool.append(Endpoint(address_in(asn, rng), asn))
    return pool
