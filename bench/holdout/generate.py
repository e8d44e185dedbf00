"""Held-out scenario generator for Hydra Watch detection (independent of `simulate` and bench/scenarios).

Writes one batch in the spec's format (shared/spec/ingest-format.md) and a truth file in the
format `manage.py evaluate --truth` reads: {"seed", "mix", "operators": {op: {"kind", ...}},
"accounts": {account_id: op}}. Every ordinary user is an operator of its own (kind "ordinary").

    python bench/holdout/generate.py --mix wave --seed 7 --out /tmp/h.ndjson.gz --truth /tmp/h.json

Mixes: wave (the reported three-lab campaign, scaled down), stealth (attackers blend in harder,
few flags), lookalike (many legitimate multi-account operators, attackers hiding among them).
Stdlib + numpy only (numpy makes the SimHash quick).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import random
import re
import sys
from functools import lru_cache

import numpy as np

# ---------------------------------------------------------------- SimHash (spec algorithm)
_TOKEN = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=500_000)
def _shingle_signs(shingle: str) -> np.ndarray:
    digest = hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest()
    bits = np.unpackbits(np.frombuffer(digest, dtype=np.uint8)).astype(np.int32)  # MSB first
    return 2 * bits - 1


@lru_cache(maxsize=200_000)
def simhash_hex(text: str) -> str | None:
    tokens = _TOKEN.findall(text.lower())
    if not tokens:
        return None
    if len(tokens) < 3:
        shingles = [" ".join(tokens)]
    else:
        shingles = [" ".join(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
    total = np.zeros(64, dtype=np.int32)
    for s in shingles:
        total += _shingle_signs(s)
    return np.packbits((total > 0).astype(np.uint8)).tobytes().hex()


def _selftest() -> None:
    vectors = {
        "Solve the following problem step by step and show all of your reasoning before the final answer.": (
            "4b78c3fee5e385b2"
        ),
        "Write a Python function that parses an ISO 8601 timestamp and returns a datetime in UTC.": (
            "6ae60249a384082e"
        ),
        "What's a good name for a golden retriever puppy?": "c07e2201c8410222",
        "hi": "106bce4401410416",
        "Hello, World!": "878633aa32a3b150",
    }
    for text, want in vectors.items():
        got = simhash_hex(text)
        assert got == want, (text, got, want)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def tools_sha(tools: list[dict]) -> str:
    return sha(json.dumps(tools, sort_keys=True, separators=(",", ":")))


# ---------------------------------------------------------------- vocabularies
FIRST = [
    "maria",
    "james",
    "li",
    "wei",
    "anna",
    "david",
    "sofia",
    "lucas",
    "emma",
    "noah",
    "olivia",
    "liam",
    "mia",
    "ethan",
    "ava",
    "mateo",
    "chloe",
    "ravi",
    "priya",
    "arjun",
    "yuki",
    "hana",
    "kenji",
    "minh",
    "linh",
    "omar",
    "fatima",
    "ahmed",
    "leila",
    "ivan",
    "olga",
    "pavel",
    "jan",
    "eva",
    "tomas",
    "lukas",
    "nina",
    "carlos",
    "diego",
    "lucia",
    "pedro",
    "ana",
    "joao",
    "marta",
    "kofi",
    "amara",
    "chen",
    "jing",
    "hao",
    "mei",
    "sara",
    "ben",
    "tom",
    "kate",
    "alex",
    "sam",
]
LAST = [
    "smith",
    "garcia",
    "müller",
    "kim",
    "nguyen",
    "wang",
    "chen",
    "lee",
    "patel",
    "singh",
    "kowalski",
    "novak",
    "silva",
    "santos",
    "rossi",
    "bianchi",
    "dubois",
    "martin",
    "schmidt",
    "ivanova",
    "petrov",
    "tanaka",
    "sato",
    "suzuki",
    "park",
    "choi",
    "ali",
    "hassan",
    "khan",
    "mensah",
    "okafor",
    "johnson",
    "brown",
    "davis",
    "miller",
    "wilson",
    "moore",
    "taylor",
    "anderson",
    "thomas",
    "jackson",
    "white",
    "harris",
    "clark",
    "lewis",
]
FREEMAIL = (
    ["gmail.com"] * 10
    + ["outlook.com"] * 4
    + ["yahoo.com"] * 2
    + ["proton.me", "icloud.com", "qq.com", "163.com", "gmx.de", "yandex.ru", "hotmail.com", "naver.com"]
)
COMPANY_DOMAINS = [
    f"{w}.{t}"
    for w in [
        "acme",
        "globex",
        "initech",
        "umbrella",
        "hooli",
        "vandelay",
        "stark",
        "wayne",
        "soylent",
        "tyrell",
        "cyberdyne",
        "aperture",
        "massive",
        "oscorp",
        "nakatomi",
    ]
    for t in ("com", "io")
]
COUNTRIES = ["US"] * 8 + [
    "DE",
    "GB",
    "FR",
    "IN",
    "IN",
    "BR",
    "JP",
    "KR",
    "CN",
    "SG",
    "CA",
    "NL",
    "PL",
    "VN",
    "NG",
    "ES",
    "IT",
    "AU",
    "SE",
]
WORDS = [
    "river",
    "stone",
    "cloud",
    "maple",
    "falcon",
    "ember",
    "quartz",
    "willow",
    "harbor",
    "cedar",
    "aurora",
    "nimbus",
    "pixel",
    "cobalt",
    "delta",
    "orbit",
    "sierra",
    "tango",
    "lotus",
    "vertex",
    "zephyr",
    "onyx",
    "juniper",
    "raven",
    "solstice",
    "mango",
    "kiwi",
    "papaya",
    "lemon",
    "basil",
]

BROWSER_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",  # noqa: E501
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",  # noqa: E501
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
]
# (user agent, ja4, popularity weight): popular SDKs are worn by thousands of strangers.
SDK_UAS = [
    ("OpenAI/Python 1.54.3", "t13d1516h2_8daaf6152771_e5627efa2ab1", 30),
    ("OpenAI/Python 1.52.0", "t13d1516h2_8daaf6152771_e5627efa2ab1", 12),
    ("AsyncOpenAI/Python 1.54.3", "t13d1516h2_8daaf6152771_e5627efa2ab1", 8),
    ("anthropic-python/0.39.0", "t13d1516h2_8daaf6152771_e5627efa2ab1", 14),
    ("OpenAI/JS 4.71.1", "t13d1715h2_5b57614c22b0_3d5424432f57", 12),
    ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "t13d1715h2_5b57614c22b0_3d5424432f57", 5),
    ("python-requests/2.32.3", "t13d1516h2_8daaf6152771_02713d6af862", 9),
    ("python-httpx/0.27.2", "t13d1516h2_8daaf6152771_e5627efa2ab1", 7),
    ("curl/8.5.0", "t13d4907h2_0d8feac7bc37_7395dae3b2f3", 4),
    ("LangChain/0.3.7 (Python)", "t13d1516h2_8daaf6152771_e5627efa2ab1", 5),
    ("Go-http-client/2.0", "t13d1312h2_f57a46bbacb6_ab7e3b40a677", 3),
    ("okhttp/4.12.0", "t13d1513h2_8daaf6152771_b1ff8ab2d16f", 2),
]
MODELS = [("atlas-4-pro", 20), ("atlas-4-fast", 45), ("atlas-4-mini", 25), ("atlas-4-vision", 5), ("atlas-4-reason", 5)]

# ---------------------------------------------------------------- network address space
RESIDENTIAL = [  # (asn, first octets of a few /16s)
    (7922, ["73.12", "73.45", "98.203", "24.130"]),
    (701, ["71.183", "108.20"]),
    (3320, ["91.64", "93.199"]),
    (2856, ["86.150", "81.159"]),
    (4134, ["117.136", "183.14"]),
    (4837, ["123.112", "221.216"]),
    (12389, ["95.24", "176.59"]),
    (3215, ["90.42", "86.245"]),
    (6830, ["84.114", "188.22"]),
    (5089, ["82.36", "86.27"]),
    (7018, ["107.77", "99.38"]),
    (20115, ["47.150", "68.184"]),
    (22773, ["68.100", "70.174"]),
    (9121, ["78.160", "88.236"]),
    (8151, ["187.190", "189.203"]),
    (4766, ["121.134", "175.193"]),
    (17676, ["126.59", "60.112"]),
    (45609, ["106.208", "49.36"]),
    (55836, ["49.34", "157.32"]),
    (7552, ["113.161", "14.226"]),
    (28573, ["177.32", "191.183"]),
    (1221, ["101.167", "110.144"]),
    (12322, ["88.160", "82.64"]),
    (3269, ["79.20", "93.40"]),
]
MOBILE_CGNAT = [(21928, "172.58.44"), (22394, "174.205.33"), (9808, "120.204.17"), (45609, "106.195.40")]
CLOUD = {
    "aws": (16509, ["3.85", "18.204", "52.14", "54.201", "44.198"]),
    "gcp": (15169, ["34.72", "35.198", "34.145"]),
    "azure": (8075, ["20.42", "40.76", "52.168"]),
    "hetzner": (24940, ["65.21", "95.216", "138.201"]),
    "ovh": (16276, ["51.75", "54.38"]),
    "digitalocean": (14061, ["159.89", "167.99", "143.198"]),
}
VPN_EXITS = [
    (9009, "185.156.46"),
    (9009, "146.70.117"),
    (60068, "89.187.163"),
    (60068, "143.244.41"),
    (39351, "193.138.218"),
    (212238, "149.102.238"),
]


class Gen:
    def __init__(self, seed: int, mix: str, days: int, start: dt.datetime, proxy_exits: int = 30_000):
        self.rng = random.Random(seed)
        self.seed, self.mix, self.days, self.start = seed, mix, days, start
        self.span = days * 86400.0
        self.accounts: list[dict] = []
        self.events: list[dict] = []  # flushed per account to keep memory moderate
        self.alerts: list[dict] = []
        self.truth_ops: dict[str, dict] = {}
        self.truth_acc: dict[str, str] = {}
        self.used_ids: set[str] = set()
        self.out = None
        self.n_events = 0
        r = self.rng
        # Shared infrastructure: the commercial VPN's exits and a residential proxy provider's pool.
        self.vpn_pool = [(asn, f"{p}.{r.randint(2, 254)}") for asn, p in VPN_EXITS for _ in range(25)]
        # Attackers rent exits from one provider: the smaller it is, the more exits two operators share.
        self.proxy_provider = [self.residential_ip() for _ in range(proxy_exits)]
        self.cgnat = [(asn, f"{p}.{r.randint(1, 254)}") for asn, p in MOBILE_CGNAT for _ in range(12)]
        # Public system prompts and tool harnesses many strangers share.
        self.public_sys = [
            sha("You are a helpful assistant."),
            sha("You are a helpful assistant. Answer concisely."),
            sha("You are an expert software engineer. Think carefully and write clean code."),
            sha("You are ChatBot, a large language model. Knowledge cutoff: 2025-06."),
        ]
        self.public_tools = [
            tools_sha([{"name": "read_file", "v": v}, {"name": "write_file"}, {"name": "bash"}, {"name": "grep"}])
            for v in ("1.2", "1.3", "1.4")
        ] + [tools_sha([{"name": "search"}, {"name": "browse"}, {"name": "v", "x": 9}])]

    # ------------------------------------------------------------ ids and addresses
    def uid(self, prefix: str, n: int = 12, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
        while True:
            v = prefix + "".join(self.rng.choice(alphabet) for _ in range(n))
            if v not in self.used_ids:
                self.used_ids.add(v)
                return v

    def residential_ip(self, asn_pick=None) -> tuple[int, str]:
        asn, prefixes = asn_pick or self.rng.choice(RESIDENTIAL)
        return asn, f"{self.rng.choice(prefixes)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"

    def cloud_ip(self, cloud: str, prefix_idx: int | None = None) -> tuple[int, str]:
        asn, prefixes = CLOUD[cloud]
        p = prefixes[prefix_idx % len(prefixes)] if prefix_idx is not None else self.rng.choice(prefixes)
        return asn, f"{p}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"

    def ts(self, t: float) -> str:
        return (self.start + dt.timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def when(self, t: dt.datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    # ------------------------------------------------------------ prompts
    def chat_prompt(self) -> str:
        r = self.rng
        common = [
            "hi",
            "hello",
            "thanks!",
            "Hello, World!",
            "can you help me",
            "continue",
            "tell me a joke",
            "What's a good name for a golden retriever puppy?",
            "summarize this",
            "translate to english",
        ]
        if r.random() < 0.12:
            return r.choice(common)
        t = r.choice(
            [
                "Write a {a} email to my {b} explaining that I will be late for the {c} on {d}.",
                "Give me a {a} recipe for {c} that uses {b} and takes under {n} minutes.",
                "Explain {c} to a {b} in {n} sentences, keep it {a}.",
                "Plan a {n}-day trip to {d} for a {b} who likes {c}.",
                "What are the pros and cons of {c} compared to {d} for a {b}?",
                "Summarize the following meeting notes about {c} for my {b}: we agreed on {d} and {n} action items.",
                "Help me write a {a} birthday message for my {b} who loves {c}.",
                "Rewrite this paragraph about {c} so it sounds more {a}: our team shipped {d} in {n} weeks.",
            ]
        )
        return t.format(
            a=r.choice(["formal", "friendly", "short", "funny", "polite", "professional", "casual", "detailed"]),
            b=r.choice(
                [
                    "manager",
                    "teacher",
                    "friend",
                    "sister",
                    "landlord",
                    "client",
                    "colleague",
                    "grandmother",
                    "team",
                    "teenager",
                ]
            ),
            c=r.choice(
                [
                    "quantum",
                    "computing",
                    "sourdough",
                    "bread",
                    "inflation",
                    "marathon",
                    "training",
                    "the",
                    "french",
                    "revolution",
                    "photosynthesis",
                    "index",
                    "funds",
                    "kubernetes",
                    "jazz",
                    "history",
                    "climate",
                    "policy",
                    "chess",
                    "openings",
                ]
            ),
            d=r.choice(
                [
                    "Lisbon",
                    "Kyoto",
                    "Monday",
                    "Friday",
                    "Berlin",
                    "Oaxaca",
                    "Q3",
                    "launch",
                    "Hanoi",
                    "Nairobi",
                    "Prague",
                ]
            ),
            n=r.randint(2, 12),
        )

    def coding_prompt(self) -> str:
        r = self.rng
        lang = r.choice(
            [
                "Python",
                "Python",
                "Python",
                "TypeScript",
                "JavaScript",
                "Go",
                "Rust",
                "Java",
                "C++",
                "SQL",
                "Bash",
                "Kotlin",
            ]
        )
        t = r.choice(
            [
                "Write a {lang} function that {task}.",
                "Why does my {lang} code raise {err} when I {task2}?",
                "Refactor this {lang} code to be more idiomatic and add type hints: def f(x): return [i for i in x if i {op} {n}]",  # noqa: E501
                "How do I {task2} in {lang} without {lib}?",
                "Write unit tests in {lang} for a function that {task}.",
                "Explain this {lang} error: {err} at line {n}",
            ]
        )
        return t.format(
            lang=lang,
            task=r.choice(
                [
                    "parses an ISO 8601 timestamp and returns a datetime in UTC",
                    "deduplicates a list while keeping order",
                    "reads a CSV file and sums the third column",
                    "validates an email address",
                    "retries an HTTP request with exponential backoff",
                    "merges two sorted arrays",
                    "computes the levenshtein distance of two strings",
                    "flattens a nested dictionary",
                    f"paginates results {r.randint(10, 100)} at a time",
                ]
            ),
            task2=r.choice(
                [
                    "read a large file line by line",
                    "connect to postgres",
                    "sort a dict by value",
                    "parse json from a request",
                    "run tasks concurrently",
                    "mock a datetime in tests",
                ]
            ),
            err=r.choice(
                [
                    "KeyError",
                    "TypeError: undefined is not a function",
                    "segmentation fault",
                    "NullPointerException",
                    "borrow of moved value",
                    "deadlock detected",
                    "ModuleNotFoundError",
                ]
            ),
            lib=r.choice(["pandas", "lodash", "boost", "an ORM", "external crates"]),
            op=r.choice(["<", ">", "==", "!="]),
            n=r.randint(0, 100),
        )

    def reasoning_prompt(self, cot: bool) -> str:
        r = self.rng
        q = r.choice(
            [
                f"A train leaves at {r.randint(1, 12)}:{r.randint(10, 59)} going {r.randint(40, 120)} km/h; another leaves {r.randint(1, 5)} hours later at {r.randint(60, 160)} km/h. When does the second catch up?",  # noqa: E501
                f"Is {r.randint(1000, 99999)} a prime number?",
                f"How many ways can {r.randint(3, 12)} people sit around a round table?",
                f"Prove that the sum of the first {r.randint(5, 50)} odd numbers is a perfect square.",
                f"If x^2 + {r.randint(1, 30)}x + {r.randint(1, 99)} = 0, what are the roots?",
            ]
        )
        if cot:
            return (
                r.choice(
                    [
                        "Solve step by step and show all of your reasoning: ",
                        "Think step by step. ",
                        "Explain your full chain of thought before answering: ",
                    ]
                )
                + q
            )
        return q

    # ------------------------------------------------------------ time
    def diurnal_times(self, n: int, tz: int, days_active: float = 0.6) -> list[float]:
        """n requests in sessions at human hours of time zone `tz` (hours from UTC)."""
        r = self.rng
        days = [d for d in range(self.days) if r.random() < days_active] or [r.randrange(self.days)]
        out: list[float] = []
        while len(out) < n:
            d = r.choice(days)
            hour = r.choice([9, 10, 11, 13, 14, 15, 16, 17, 20, 21, 22, 23]) + r.random()
            t = d * 86400 + (hour - tz) * 3600
            for _ in range(min(n - len(out), 1 + int(r.expovariate(1 / 6)))):
                t += r.uniform(15, 400)
                out.append(t)
        return [min(max(t, 0), self.span - 1) for t in out]

    def machine_times(self, n: int, shifts: list[tuple[float, float]] | None = None, t0: float = 0.0) -> list[float]:
        """Round the clock, or within daily UTC shifts [(start_h, end_h)], from t0."""
        r = self.rng
        out = []
        for _ in range(n):
            d = r.randrange(self.days)
            if shifts:
                a, b = r.choice(shifts)
                h = r.uniform(a, b)
            else:
                h = r.uniform(0, 24)
            out.append(min(max(d * 86400 + h * 3600, t0), self.span - 1))
        return out

    # ------------------------------------------------------------ writers
    def account(
        self,
        op: str,
        *,
        created: dt.datetime,
        email: str | None,
        tier: str | None,
        verification: str | None,
        country: str | None,
        payment: str | None,
        signup_ip: str | None,
        org: str | None = None,
        stub: bool = False,
        status: str = "active",
        aid: str | None = None,
    ) -> str:
        aid = aid or self.uid("acct_", 10)
        self.truth_acc[aid] = op
        if stub:
            return aid
        rec = {"type": "account", "account_id": aid, "created_at": self.when(created)}
        for k, v in (
            ("email", email),
            ("org_id", org),
            ("tier", tier),
            ("verification", verification),
            ("country", country),
            ("payment_fingerprint", payment),
            ("signup_ip", signup_ip),
        ):
            if v is not None:
                rec[k] = v
        rec["signup_user_agent"] = self.rng.choice(BROWSER_UAS)
        rec["status"] = status
        self.accounts.append(rec)
        return aid

    def alert(self, aid: str, detector: str, score: float, severity: str, summary: str) -> None:
        self.alerts.append(
            {
                "type": "alert",
                "alert_id": self.uid("alr-", 14, "0123456789abcdef"),
                "account_id": aid,
                "detector": detector,
                "score": round(score, 3),
                "raised_at": self.ts(self.rng.uniform(self.span * 0.3, self.span - 60)),
                "severity": severity,
                "summary": summary,
            }
        )

    def event(
        self,
        aid: str,
        t: float,
        *,
        key: str,
        ip: tuple[int, str] | None,
        ua: tuple[str, str] | None,
        model: str,
        category: str,
        prompt: str,
        cot: bool,
        sys_sha: str | None,
        tools: str | None,
        tin: int,
        tout: int,
    ) -> None:
        rec = {
            "type": "event",
            "event_id": self.uid("evt_", 18, "0123456789abcdef"),
            "account_id": aid,
            "ts": self.ts(t),
            "api_key_id": key,
            "model": model,
            "input_tokens": tin,
            "output_tokens": tout,
            "category": category,
            "cot_requested": cot,
        }
        if ip:
            rec["asn"], rec["ip"] = ip
        if ua:
            rec["user_agent"], rec["ja4"] = ua
        if sys_sha:
            rec["system_prompt_sha256"] = sys_sha
        if tools:
            rec["tools_sha256"] = tools
        h = simhash_hex(prompt)
        if h:
            rec["prompt_simhash"] = h
        rec["prompt_excerpt"] = prompt[:500]
        self.out.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self.n_events += 1

    def pick_model(self, prefer: str | None = None) -> str:
        if prefer and self.rng.random() < 0.8:
            return prefer
        return self.rng.choices([m for m, _ in MODELS], [w for _, w in MODELS])[0]

    def sdk_ua(self) -> tuple[str, str]:
        ua, ja4, _ = self.rng.choices(SDK_UAS, [w for *_, w in SDK_UAS])[0]
        return ua, ja4

    def op(self, op: str, kind: str, label: str, **info) -> str:
        self.truth_ops[op] = {"kind": kind, "label": label, **info}
        return op

    # ------------------------------------------------------------ actors
    def ordinary_users(self, n: int, fp_rate: float) -> None:
        r = self.rng
        for i in range(n):
            op = self.op(f"user-{i:05d}", "ordinary", "ordinary user")
            first, last = r.choice(FIRST), r.choice(LAST)
            domain = r.choice(FREEMAIL) if r.random() < 0.75 else r.choice(COMPANY_DOMAINS)
            email = f"{first}.{last}{r.choice(['', str(r.randint(1, 99)), str(r.randint(1970, 2005))])}@{domain}"
            email = email.replace("ü", "u")
            tier = r.choices(["free", "build", "scale", "education"], [50, 40, 6, 4])[0]
            ver = r.choices(["email", "phone", "id_document", "none"], [55, 30, 8, 7])[0]
            home = self.residential_ip()
            aid = self.account(
                op,
                created=self.start - dt.timedelta(days=r.uniform(3, 900)),
                email=email,
                tier=tier,
                verification=ver,
                country=r.choice(COUNTRIES),
                payment=None if tier == "free" and r.random() < 0.7 else self.uid("pf_", 16, "0123456789abcdef"),
                signup_ip=home[1],
                stub=r.random() < 0.03,
            )
            power = r.random() < 0.05
            n_ev = int(min(1500, r.lognormvariate(3.4, 1.0))) + 3 if not power else r.randint(400, 1500)
            ips = [home] + [self.residential_ip() for _ in range(r.choice([0, 0, 1, 2]))]
            if r.random() < 0.15:
                ips.append(r.choice(self.cgnat))
            if r.random() < 0.08:
                ips += r.sample(self.vpn_pool, r.randint(1, 4))
            if r.random() < 0.15:
                ips.append(self.cloud_ip(r.choice(list(CLOUD))))
            uas = [self.sdk_ua() for _ in range(r.choice([1, 1, 2]))]
            if r.random() < 0.2:
                uas.append((r.choice(BROWSER_UAS), "t13d1516h2_8daaf6152771_02713d6af862"))
            keys = [self.uid("key_", 12) for _ in range(r.choice([1, 1, 2, 3]))]
            mix = {
                "chat": r.uniform(0.2, 0.7),
                "coding": r.uniform(0.1, 0.6),
                "reasoning": r.uniform(0, 0.12),
                "vision": r.uniform(0, 0.06),
                "agentic": r.uniform(0, 0.05) + (0.4 if power else 0),
                "other": 0.03,
            }
            sysp = r.choices([None, r.choice(self.public_sys), sha(f"personal {aid} {r.random()}")], [60, 30, 10])[0]
            tools = r.choice(self.public_tools) if (power or r.random() < 0.1) else None
            cotp = r.uniform(0, 0.08) if r.random() > 0.05 else r.uniform(0.3, 0.7)
            tz = r.choice([-8, -5, -5, 0, 1, 1, 2, 3, 5, 8, 8, 9])
            times = (
                self.machine_times(n_ev)
                if power and r.random() < 0.4
                else self.diurnal_times(n_ev, tz, r.uniform(0.2, 0.9))
            )
            self.traffic(
                aid, times, keys=keys, ips=ips, uas=uas, mix=mix, cotp=cotp, sys_opts=[sysp], tools=tools, out_scale=1.0
            )
            if r.random() < fp_rate or (power and r.random() < 0.3):
                det = r.choice(["volume-anomaly", "tos-classifier-v2", "cot-elicitation-v3", "geo-velocity"])
                self.alert(aid, det, r.uniform(0.35, 0.75), r.choice(["low", "medium"]), f"{det} fired")

    def traffic(
        self,
        aid,
        times,
        *,
        keys,
        ips,
        uas,
        mix,
        cotp,
        sys_opts,
        tools,
        out_scale=1.0,
        blend=0.0,
        prompts=None,
        ip_sampler=None,
        model=None,
        tools_p=0.7,
    ) -> None:
        r = self.rng
        cats, weights = list(mix), list(mix.values())
        for t in sorted(times):
            if blend and r.random() < blend:  # cover traffic: ordinary chat, no harness
                cat = "chat"
                prompt, cot, s, tl = self.chat_prompt(), False, None, None
            else:
                cat = r.choices(cats, weights)[0]
                cot = r.random() < cotp
                if prompts is not None and cat != "chat":
                    prompt = prompts(cat, cot)
                elif cat in ("coding", "agentic"):
                    prompt = self.coding_prompt()
                elif cat == "reasoning":
                    prompt = self.reasoning_prompt(cot)
                else:
                    prompt = self.chat_prompt()
                s = r.choice(sys_opts)
                tl = (
                    tools
                    if (tools and (cat in ("agentic", "coding") or r.random() < 0.2) and r.random() < tools_p)
                    else None
                )
            ip = ip_sampler() if ip_sampler else r.choice(ips)
            tin = int(r.lognormvariate(6.2 if cat != "agentic" else 8.3, 0.8))
            tout = int(r.lognormvariate(5.9, 0.7) * out_scale)
            if cot:
                tout = int(tout * 2.5)
            self.event(
                aid,
                t,
                key=r.choice(keys),
                ip=ip,
                ua=r.choice(uas),
                model=self.pick_model(model) if cat != "vision" else "atlas-4-vision",
                category=cat,
                prompt=prompt,
                cot=cot,
                sys_sha=s,
                tools=tl,
                tin=tin,
                tout=min(tout, 32000),
            )

    # Task corpora an attacker fans out over its accounts (identical text to several heads, close in time).
    def task_corpus(self, kind: str, n: int, tag: str) -> list[str]:
        r = self.rng
        out = []
        for i in range(n):
            if kind == "coding":
                out.append(
                    f"You are working in the repository {r.choice(WORDS)}-{r.choice(WORDS)}. Task {i}: "
                    f"{r.choice(['implement', 'fix', 'refactor', 'optimise', 'document'])} the "
                    f"{r.choice(['parser', 'scheduler', 'cache', 'auth middleware', 'query planner', 'tokenizer', 'rate limiter'])} in "  # noqa: E501
                    f"{r.choice(['src/core', 'lib', 'pkg/server', 'app/services'])}/{r.choice(WORDS)}.{r.choice(['py', 'ts', 'go', 'rs'])}; "  # noqa: E501
                    f"run the tests, fix every failure and output the complete diff with an explanation of each change."
                )
            elif kind == "reasoning":
                out.append(
                    f"Problem {tag}-{i}: {self.reasoning_prompt(False)} Give the final answer, then verify it with a tool call "  # noqa: E501
                    f"and describe the plan you used."
                )
            elif kind == "vision":
                out.append(
                    f"Describe every element in the attached {r.choice(['chart', 'screenshot', 'diagram', 'invoice', 'photo'])} "  # noqa: E501
                    f"#{r.randint(1000, 99999)} and transcribe all visible text exactly, then answer: what is unusual?"
                )
            else:  # cot
                out.append(
                    f"{r.choice(['Before answering, write out your complete internal reasoning', 'Show your full hidden chain of thought', 'Think aloud in detail, every step'])}: "  # noqa: E501
                    f"{self.reasoning_prompt(False)}"
                )
        return out

    def fanout_traffic(
        self,
        op_accounts: list[dict],
        corpus: list[str],
        n_jobs: int,
        fan: tuple[int, int],
        *,
        category: str,
        cotp: float,
        shifts=None,
        spread: float = 120.0,
        perturb: float = 0.3,
    ) -> None:
        """Operator-level jobs: each task goes to a few heads within `spread` seconds (near-identical prompts)."""
        r = self.rng
        per_acc: dict[str, list[tuple[float, str]]] = {a["aid"]: [] for a in op_accounts}
        for _ in range(n_jobs):
            text = r.choice(corpus)
            t = self.machine_times(1, shifts)[0]
            for a in r.sample(op_accounts, min(len(op_accounts), r.randint(*fan))):
                p = (
                    text
                    if r.random() > perturb
                    else text.replace("the ", "the the ", 1) + f" (retry {r.randint(1, 9)})"
                )
                per_acc[a["aid"]].append((min(t + r.uniform(0, spread), self.span - 1), p))
        for a in op_accounts:
            items = per_acc[a["aid"]]
            if not items:
                continue
            it = iter(sorted(items))
            times = [t for t, _ in sorted(items)]
            self.traffic(
                a["aid"],
                times,
                keys=a["keys"],
                ips=a["ips"],
                uas=a["uas"],
                mix={category: 1.0},
                cotp=cotp,
                sys_opts=a["sys"],
                tools=a["tools"],
                out_scale=a.get("out_scale", 3.0),
                prompts=lambda cat, cot, it=it: next(it)[1],
                ip_sampler=a.get("ip_sampler"),
                model=a.get("model"),
                tools_p=a.get("tools_p", 0.9),
            )

    def attacker(
        self,
        name: str,
        label: str,
        n: int,
        *,
        flag_rate: float,
        tasks: dict[str, float],
        cotp: float,
        payment: str,
        proxy: str,
        pool_size: int,
        email_style: str,
        signup: str,
        tier: str,
        verification: str,
        sys_style: str,
        tools_style: str,
        ua_style: str,
        blend: float,
        per_acc_events: tuple[int, int],
        shifts=None,
        fan=(2, 5),
        country: str | None = None,
        detectors=("volume-anomaly",),
        stubs: float = 0.0,
        out_scale: float = 3.0,
    ) -> None:
        r = self.rng
        op = self.op(
            name,
            "attacker",
            label,
            size=n,
            tactics={
                "payment": payment,
                "proxy": proxy,
                "email": email_style,
                "signup": signup,
                "sys": sys_style,
                "tools": tools_style,
                "ua": ua_style,
                "blend": blend,
            },
        )
        # Infrastructure
        if proxy == "residential":
            pool = r.sample(self.proxy_provider, pool_size)
        elif proxy == "vpn":
            pool = r.sample(self.vpn_pool, min(pool_size, len(self.vpn_pool)))
        elif proxy == "cloud":
            clouds = r.sample(list(CLOUD), 3)
            pool = [self.cloud_ip(r.choice(clouds)) for _ in range(pool_size)]
        else:  # mixed: residential proxies + VPN exits + cloud boxes
            pool = (
                r.sample(self.proxy_provider, pool_size)
                + r.sample(self.vpn_pool, 20)
                + [self.cloud_ip("hetzner") for _ in range(30)]
            )
        cards = [self.uid("pf_", 16, "0123456789abcdef") for _ in range(max(1, n // r.randint(6, 15)))]
        base_sys = (
            f"{name} {label} harness system prompt v{r.randint(2, 9)}: "
            "you are a meticulous expert; always answer in full."
        )
        sys_variants = [sha(base_sys + f" variant {i}") for i in range(r.randint(2, 4))]
        harness = [tools_sha([{"name": f"{name}-tool-{j}", "schema": r.random()} for j in range(5)]) for _ in range(2)]
        rare_ua = (
            f"{r.choice(WORDS)}-runner/{r.randint(1, 4)}.{r.randint(0, 20)}",
            f"t13d0912h2_{r.getrandbits(48):012x}_{r.getrandbits(48):012x}",
        )
        domain_pool = [
            f"{r.choice(WORDS)}{r.choice(['mail', 'box', 'post'])}.{r.choice(['com', 'net', 'io', 'xyz'])}"
            for _ in range(3)
        ]
        burst_start = self.start - dt.timedelta(days=r.uniform(2, 30))
        corpora = {k: self.task_corpus(k, max(30, n * 3), name) for k in tasks}
        heads = []
        for i in range(n):
            if signup == "burst":
                created = burst_start + dt.timedelta(
                    hours=(i // 40) * r.uniform(20, 30), seconds=(i % 40) * r.uniform(20, 120)
                )
            else:  # spread over months, aged accounts
                created = self.start - dt.timedelta(days=r.uniform(20, 400))
            if email_style == "pattern":
                email = f"{r.choice(WORDS)}{r.choice(WORDS)}{r.randint(1000, 9999)}@{r.choice(['gmail.com', 'outlook.com'])}"  # noqa: E501
            elif email_style == "domain":
                email = f"{''.join(r.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(8))}@{r.choice(domain_pool)}"
            elif email_style == "edu":
                email = f"{r.choice(FIRST)}{r.randint(10, 99)}@{r.choice(['student.' + domain_pool[0], 'mail.' + domain_pool[1]])}.edu"  # noqa: E501
            else:  # natural
                email = f"{r.choice(FIRST)}.{r.choice(LAST)}{r.randint(1, 999)}@{r.choice(FREEMAIL)}".replace("ü", "u")
            if payment == "cards":
                pf = cards[i % len(cards)] if r.random() < 0.85 else None
            elif payment == "own":
                pf = self.uid("pf_", 16, "0123456789abcdef")
            else:
                pf = None
            sip = (r.choice(pool) if proxy != "cloud" else self.cloud_ip("aws"))[1]
            aid = self.account(
                op,
                created=created,
                email=email,
                tier=tier,
                verification=verification,
                country=country or r.choice(COUNTRIES),
                payment=pf,
                signup_ip=sip,
                stub=r.random() < stubs,
            )
            own = r.sample(pool, min(len(pool), r.randint(15, 60)))
            if ua_style == "rare":
                uas = [rare_ua]
            elif ua_style == "popular":
                uas = [self.sdk_ua()]
            else:  # mixed: popular SDK most of the time, the harness's own agent now and then
                uas = [self.sdk_ua(), self.sdk_ua(), rare_ua]
            if sys_style == "shared":
                sysl = [r.choice(sys_variants)]
            elif sys_style == "unique":  # randomised per head
                sysl = [sha(base_sys + aid)]
            elif sys_style == "public":
                sysl = [r.choice(self.public_sys), None]
            else:
                sysl = [None]
            tools = {"shared": r.choice(harness), "public": r.choice(self.public_tools), "none": None}[tools_style]
            heads.append(
                {
                    "aid": aid,
                    "keys": [self.uid("key_", 12) for _ in range(r.choice([1, 1, 2]))],
                    "ips": own,
                    "uas": uas,
                    "sys": sysl,
                    "tools": tools,
                    "out_scale": out_scale,
                    "ip_sampler": (lambda own=own, pool=pool: r.choice(own) if r.random() < 0.7 else r.choice(pool)),
                    "tools_p": 0.9,
                }
            )
        total = sum(r.randint(*per_acc_events) for _ in heads)
        harvest = int(total * (1 - blend))
        for kind, share in tasks.items():
            cat = {"coding": "agentic", "reasoning": "reasoning", "vision": "vision", "cot": "reasoning"}[kind]
            mean_fan = (fan[0] + fan[1]) / 2
            self.fanout_traffic(
                heads,
                corpora[kind],
                int(harvest * share / mean_fan),
                fan,
                category=cat,
                cotp=cotp if kind in ("cot", "reasoning") else cotp * 0.3,
                shifts=shifts,
            )
        # Cover traffic: ordinary-looking chat at human hours.
        for h in heads:
            k = int(total * blend / n)
            if k:
                self.traffic(
                    h["aid"],
                    self.diurnal_times(k, r.choice([-5, 1, 8])),
                    keys=h["keys"],
                    ips=h["ips"],
                    uas=h["uas"],
                    mix={"chat": 0.8, "coding": 0.2},
                    cotp=0.02,
                    sys_opts=[None],
                    tools=None,
                    ip_sampler=h["ip_sampler"],
                )
        flagged = r.sample(heads, max(1, round(n * flag_rate)))
        for h in flagged:
            det = r.choice(detectors)
            self.alert(
                h["aid"],
                det,
                r.uniform(0.55, 0.97),
                r.choice(["medium", "high", "high", "critical"]),
                f"{det}: unusual harvesting pattern",
            )
        self.truth_ops[op]["flagged"] = len(flagged)

    def legit_org(
        self,
        name: str,
        label: str,
        n: int,
        *,
        org: bool,
        shared_payment: bool,
        network: str,
        email_domain: str,
        tier: str,
        verification: str,
        events: tuple[int, int],
        cotp: float,
        mix: dict,
        harness: bool,
        machine: bool,
        flag_rate: float,
        detectors: tuple[str, ...],
        lockstep: bool = False,
        sys_shared: bool = True,
        tz: int = -5,
        burst_signup: bool = False,
    ) -> None:
        r = self.rng
        op = self.op(name, "legitimate", label, size=n, org=org)
        org_id = f"org_{r.getrandbits(40):010x}" if org else None
        card = self.uid("pf_", 16, "0123456789abcdef")
        if network == "nat":
            asn = r.choice([7377, 2152, 1312, 786, 680, 2200, 559])
            base = f"{r.randint(128, 160)}.{r.randint(1, 250)}.{r.randint(0, 255)}"
            nat = [(asn, f"{base}.{r.randint(1, 254)}") for _ in range(r.randint(1, 3))]
        elif network == "cloud":
            cloud = r.choice(list(CLOUD))
            nat = [self.cloud_ip(cloud, 0) for _ in range(r.randint(20, 80))]
        else:  # office + homes
            nat = [self.residential_ip() for _ in range(3)]
        sysp = sha(f"{label} internal prompt {r.random()}")
        tools = tools_sha([{"name": f"{name}-pipeline-{j}"} for j in range(4)]) if harness else None
        ua = (
            self.sdk_ua()
            if r.random() < 0.6
            else (f"{name}-svc/1.{r.randint(0, 9)}", "t13d1516h2_8daaf6152771_e5627efa2ab1")
        )
        homework = self.task_corpus("reasoning" if cotp > 0.2 else "coding", 25, name)
        created0 = self.start - dt.timedelta(days=r.uniform(10, 300))
        members = []
        for _i in range(n):
            first, last = r.choice(FIRST), r.choice(LAST)
            email = f"{first}.{last}{r.randint(1, 99) if r.random() < 0.3 else ''}@{email_domain}".replace("ü", "u")
            if not org and r.random() < 0.4:
                email = f"{first}.{last}{r.randint(1, 99)}@{r.choice(FREEMAIL)}".replace("ü", "u")
            # Staff join over the months since the first sign-up (never all at one instant); a course signs up at once.
            span_d = min(200.0, (self.start - created0).days - 1.0)
            created = created0 + (
                dt.timedelta(minutes=r.uniform(0, 180)) if burst_signup else dt.timedelta(days=r.uniform(0, span_d))
            )
            aid = self.account(
                op,
                created=created,
                email=email,
                tier=tier,
                verification=r.choice(verification.split("|")),
                country="US" if tz < 0 else "DE",
                payment=card
                if shared_payment
                else (self.uid("pf_", 16, "0123456789abcdef") if tier not in ("education",) else None),
                signup_ip=r.choice(nat)[1],
                org=org_id,
            )
            members.append(aid)
            k = r.randint(*events)
            ips = list(nat) if network != "office" else nat + [self.residential_ip()]
            times = self.machine_times(k) if machine else self.diurnal_times(k, tz, 0.7)
            if lockstep:  # same homework / benchmark prompts across members
                hw = iter([r.choice(homework) for _ in times])
                self.traffic(
                    aid,
                    times,
                    keys=[self.uid("key_", 12)],
                    ips=ips,
                    uas=[ua],
                    mix=mix,
                    cotp=cotp,
                    sys_opts=[sysp if sys_shared else None],
                    tools=tools,
                    prompts=lambda c, cot, hw=hw: next(hw),
                    out_scale=1.5,
                )
            else:
                self.traffic(
                    aid,
                    times,
                    keys=[self.uid("key_", 12)],
                    ips=ips,
                    uas=[ua],
                    mix=mix,
                    cotp=cotp,
                    sys_opts=[sysp if sys_shared else None, None],
                    tools=tools,
                    out_scale=1.5,
                )
        for aid in r.sample(members, round(n * flag_rate)):
            det = r.choice(detectors)
            self.alert(aid, det, r.uniform(0.4, 0.85), r.choice(["low", "medium", "high"]), f"{det} fired")
        self.truth_ops[op]["flagged"] = round(n * flag_rate)

    # ------------------------------------------------------------ scenarios
    def build(self) -> None:
        r = self.rng
        stealth = self.mix == "stealth"
        look = self.mix == "lookalike"
        # Attackers.
        self.attacker(
            "atk-coder",
            "agentic-coding harvester (the ~13M operator)",
            r.randint(260, 340) if not stealth else r.randint(150, 200),
            flag_rate=0.3 if not stealth else 0.12,
            tasks={"coding": 0.9, "reasoning": 0.1},
            cotp=0.2,
            payment="cards" if not stealth else "own",
            proxy="residential",
            pool_size=3000 if not stealth else 9000,
            email_style="pattern" if not stealth else "natural",
            signup="burst" if not stealth else "spread",
            tier="build",
            verification="email",
            sys_style="shared" if not stealth else "public",
            tools_style="shared",
            ua_style="mixed" if not stealth else "popular",
            blend=0.2 if not stealth else 0.4,
            per_acc_events=(150, 350),
            shifts=[(0, 8), (12, 20)],
            fan=(2, 6),
            detectors=("volume-anomaly", "proxy-rotation", "agentic-harvest-v1"),
        )
        self.attacker(
            "atk-multi",
            "agentic reasoning / tools / vision operator (the ~3.4M operator)",
            r.randint(90, 140),
            flag_rate=0.4 if not stealth else 0.15,
            tasks={"reasoning": 0.5, "coding": 0.2, "vision": 0.3},
            cotp=0.35,
            payment="own",
            proxy="mixed" if not look else "cloud",
            pool_size=1500,
            email_style="domain",
            signup="burst" if not stealth else "spread",
            tier="scale",
            verification="phone",
            sys_style="unique",
            tools_style="shared",
            ua_style="popular",
            blend=0.25,
            per_acc_events=(100, 250),
            shifts=None,
            fan=(2, 4),
            detectors=("volume-anomaly", "vision-scrape", "tool-harvest"),
        )
        self.attacker(
            "atk-cot",
            "chain-of-thought elicitation (the ~150k operator)",
            r.randint(18, 30),
            flag_rate=0.5,
            tasks={"cot": 1.0},
            cotp=0.95,
            payment="none",
            proxy="residential",
            pool_size=400,
            email_style="edu",
            signup="burst",
            tier="education",
            verification="email",
            sys_style="none",
            tools_style="none",
            ua_style="popular",
            blend=0.1,
            per_acc_events=(60, 150),
            fan=(2, 3),
            detectors=("cot-elicitation-v3",),
            country="SG",
        )
        self.attacker(
            "atk-edufarm",
            "education/research-tier farm with thin verification",
            r.randint(35, 60),
            flag_rate=0.35 if not stealth else 0.2,
            tasks={"reasoning": 0.6, "coding": 0.4},
            cotp=0.6,
            payment="none",
            proxy="cloud",
            pool_size=200,
            email_style="edu",
            signup="burst",
            tier=r.choice(["education", "research"]),
            verification="none",
            sys_style="public",
            tools_style="public",
            ua_style="popular",
            blend=0.3,
            per_acc_events=(80, 200),
            fan=(2, 4),
            detectors=("cot-elicitation-v3", "edu-verification"),
        )
        for j in range(1 if not stealth else 3):
            self.attacker(
                f"atk-small-{j}",
                "small careful operator",
                r.randint(5, 8),
                flag_rate=0.3,
                tasks={"reasoning": 0.5, "coding": 0.5},
                cotp=0.5,
                payment="own",
                proxy="vpn",
                pool_size=30,
                email_style="natural",
                signup="spread",
                tier="build",
                verification="phone",
                sys_style="shared",
                tools_style="shared",
                ua_style="popular",
                blend=0.5,
                per_acc_events=(80, 200),
                fan=(2, 3),
                detectors=("cot-elicitation-v3", "volume-anomaly"),
            )
        if not look:
            self.attacker(
                "atk-reseller",
                "API reseller / proxy hydra",
                r.randint(40, 70),
                flag_rate=0.25,
                tasks={"coding": 0.5, "reasoning": 0.5},
                cotp=0.3,
                payment="cards",
                proxy="residential",
                pool_size=2000,
                email_style="domain",
                signup="burst",
                tier="build",
                verification="none",
                sys_style="none",
                tools_style="none",
                ua_style="rare",
                blend=0.5,
                per_acc_events=(60, 200),
                fan=(1, 2),
                detectors=("proxy-rotation", "shared-payment"),
            )
        # Legitimate multi-account operators.
        self.legit_org(
            "legit-unilab",
            "university lab behind one NAT",
            r.randint(25, 60),
            org=not stealth,
            shared_payment=False,
            network="nat",
            email_domain=f"cs.{r.choice(WORDS)}state.edu",
            tier="education",
            verification="institution|email|email",
            events=(30, 200),
            cotp=0.45,
            mix={"reasoning": 0.5, "coding": 0.3, "chat": 0.2},
            harness=False,
            machine=False,
            flag_rate=0.15,
            detectors=("cot-elicitation-v3",),
            lockstep=True,
            sys_shared=True,
            burst_signup=True,
        )
        self.legit_org(
            "legit-enterprise",
            "enterprise pipeline on one cloud",
            r.randint(15, 40),
            org=not stealth,
            shared_payment=True,
            network="cloud",
            email_domain=r.choice(COMPANY_DOMAINS),
            tier="enterprise",
            verification="id_document|email",
            events=(200, 600),
            cotp=0.02,
            mix={"agentic": 0.5, "coding": 0.3, "other": 0.2},
            harness=True,
            machine=True,
            flag_rate=0.2,
            detectors=("volume-anomaly", "shared-payment"),
        )
        self.legit_org(
            "legit-startup",
            "startup, no org id, one card",
            r.randint(5, 10),
            org=False,
            shared_payment=True,
            network="cloud",
            email_domain=f"{r.choice(WORDS)}labs.ai",
            tier="build",
            verification="email",
            events=(100, 400),
            cotp=0.05,
            mix={"agentic": 0.4, "coding": 0.4, "chat": 0.2},
            harness=True,
            machine=True,
            flag_rate=0.4,
            detectors=("shared-payment", "volume-anomaly"),
        )
        self.legit_org(
            "legit-evalgroup",
            "research group running reasoning benchmarks",
            r.randint(8, 16),
            org=True,
            shared_payment=True,
            network="nat",
            email_domain=f"{r.choice(WORDS)}-institute.org",
            tier="research",
            verification="institution",
            events=(150, 400),
            cotp=0.6,
            mix={"reasoning": 0.8, "vision": 0.2},
            harness=True,
            machine=True,
            flag_rate=0.3,
            detectors=("cot-elicitation-v3", "volume-anomaly"),
            lockstep=True,
        )
        for j in range(3 if not look else 8):
            self.legit_org(
                f"legit-freelancer-{j}",
                "freelancer with a few accounts, no org",
                r.randint(2, 4),
                org=False,
                shared_payment=r.random() < 0.7,
                network="office",
                email_domain=r.choice(FREEMAIL),
                tier="build",
                verification="phone|email",
                events=(50, 300),
                cotp=0.05,
                mix={"coding": 0.6, "chat": 0.4},
                harness=r.random() < 0.5,
                machine=False,
                flag_rate=0.5,
                detectors=("shared-payment", "multi-account"),
            )
        if look:
            self.legit_org(
                "legit-unilab-2",
                "second university lab, no org id, thin verification",
                r.randint(20, 45),
                org=False,
                shared_payment=False,
                network="nat",
                email_domain=f"{r.choice(WORDS)}.ac.uk",
                tier="education",
                verification="email|none",
                events=(30, 150),
                cotp=0.5,
                mix={"reasoning": 0.6, "coding": 0.4},
                harness=False,
                machine=False,
                flag_rate=0.25,
                detectors=("cot-elicitation-v3", "edu-verification"),
                lockstep=True,
                tz=0,
                burst_signup=True,
            )
            self.legit_org(
                "legit-enterprise-2",
                "enterprise, no org id, VPN egress",
                r.randint(10, 25),
                org=False,
                shared_payment=True,
                network="cloud",
                email_domain=r.choice(COMPANY_DOMAINS),
                tier="scale",
                verification="email",
                events=(200, 500),
                cotp=0.1,
                mix={"agentic": 0.6, "vision": 0.2, "coding": 0.2},
                harness=True,
                machine=True,
                flag_rate=0.3,
                detectors=("volume-anomaly", "vision-scrape"),
            )
        # Ordinary users fill up to the target size.
        n_special = len(self.truth_acc)
        target = {"wave": 2200, "stealth": 2400, "lookalike": 2000}[self.mix]
        self.ordinary_users(max(800, target - n_special), fp_rate=0.04)

    def run(self, out_path: str, truth_path: str) -> dict:
        opener = gzip.open if out_path.endswith(".gz") else open
        with opener(out_path, "wt", encoding="utf-8") as self.out:
            self.build()
            # Accounts and alerts after the events: records may come in any order.
            for rec in self.accounts + self.alerts:
                self.out.write(json.dumps(rec, separators=(",", ":")) + "\n")
        truth = {
            "seed": self.seed,
            "mix": self.mix,
            "generator": "bench/holdout",
            "operators": self.truth_ops,
            "accounts": self.truth_acc,
        }
        with open(truth_path, "w") as f:
            json.dump(truth, f, indent=1)
        kinds: dict[str, int] = {}
        for op in self.truth_acc.values():
            k = self.truth_ops[op]["kind"]
            kinds[k] = kinds.get(k, 0) + 1
        return {"accounts": len(self.truth_acc), "events": self.n_events, "alerts": len(self.alerts), "by_kind": kinds}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mix", choices=["wave", "stealth", "lookalike"], default="wave")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--days", type=int, default=10)
    p.add_argument("--start", default="2026-10-05T00:00:00Z")
    p.add_argument(
        "--proxy-exits",
        type=int,
        default=30_000,
        help="size of the residential proxy provider's exit pool all attackers rent from",
    )
    p.add_argument("--out", required=True, help="batch file (.ndjson or .ndjson.gz)")
    p.add_argument("--truth", required=True, help="truth JSON for `manage.py evaluate --truth`")
    a = p.parse_args(argv)
    _selftest()
    start = dt.datetime.fromisoformat(a.start.replace("Z", "+00:00"))
    stats = Gen(a.seed, a.mix, a.days, start, a.proxy_exits).run(a.out, a.truth)
    print(json.dumps({"mix": a.mix, "seed": a.seed, **stats}), file=sys.stderr)


if __name__ == "__main__":
    main()
