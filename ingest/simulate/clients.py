"""Client software as the gateway sees it: user agents, TLS fingerprints (JA4), models.

Popular SDKs are used by most people, so a shared user agent or JA4 says
little; a rare custom client says a lot.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Client:
    user_agent: str
    ja4: str


# (user agent, JA4, popularity weight) for ordinary developers and chat front-ends.
_POPULAR = [
    ("anthropic-python/0.39.0", "t13d1715h2_5b57614c22b0_3d5424432f57", 18),
    ("anthropic-python/0.42.1", "t13d1715h2_5b57614c22b0_3d5424432f57", 10),
    ("openai-python/1.54.3", "t13d1715h2_5b57614c22b0_3d5424432f57", 12),
    ("python-httpx/0.27.2", "t13d1715h2_5b57614c22b0_3d5424432f57", 14),
    ("python-requests/2.32.3", "t13d1714h1_5b57614c22b0_a8b8a6e4b8f1", 8),
    ("anthropic-typescript/0.32.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", 9),
    ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "t13d1516h2_8daaf6152771_e5627efa2ab1", 4),
    ("axios/1.7.7", "t13d1516h2_8daaf6152771_e5627efa2ab1", 4),
    ("langchain-anthropic/0.3.0 python-httpx/0.27.2", "t13d1715h2_5b57614c22b0_3d5424432f57", 5),
    ("curl/8.5.0", "t13d3112h2_e8f1e7e78f70_6bebaf5329ac", 3),
    ("Go-http-client/2.0", "t13d1311h2_f57a46bbacb6_ab7e3b40a677", 3),
    ("okhttp/4.12.0", "t13d1613h2_46e7e9700bed_fa5cde5a3e9c", 2),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0",
        "t13d1516h2_8daaf6152771_02713d6af862",
        6,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "t13d1516h2_8daaf6152771_02713d6af862",
        6,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "t13d1717h2_5b57614c22b0_3cbfd9057e0d",
        2,
    ),
]
_WEIGHTS = [w for *_, w in _POPULAR]

MODELS = ["frontier-large", "frontier-medium", "frontier-small"]
MODEL_WEIGHTS = [3, 5, 2]
VISION_MODEL = "frontier-large"


def popular_client(rng: random.Random) -> Client:
    ua, ja4, _ = rng.choices(_POPULAR, weights=_WEIGHTS)[0]
    return Client(ua, ja4)


def rare_client(rng: random.Random, name: str) -> Client:
    """A custom client build: its UA and JA4 are rare, so sharing them links accounts."""
    version = f"{rng.randrange(1, 4)}.{rng.randrange(10)}.{rng.randrange(20)}"
    cipher = "".join(rng.choices("0123456789abcdef", k=12))
    ext = "".join(rng.choices("0123456789abcdef", k=12))
    return Client(f"{name}/{version}", f"t13d{rng.randrange(10, 20)}{rng.randrange(10, 20)}h2_{cipher}_{ext}")


def pick_model(rng: random.Random) -> str:
    return rng.choices(MODELS, weights=MODEL_WEIGHTS)[0]
