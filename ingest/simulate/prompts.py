"""What people ask: prompt texts by category, system prompts and tool harnesses.

Texts are drawn from finite pools built once per run, so the SimHash of each
distinct text is computed once (it costs ~0.2 ms in pure Python) and pools
give the realistic effect that common questions recur across unrelated users.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from accounts.simhash import simhash_hex

EXCERPT_CHARS = 200


@dataclass(frozen=True)
class Prompt:
    excerpt: str
    simhash: str | None


_SIMHASH_CACHE: dict[str, Prompt] = {}
_CACHE_LIMIT = 500_000


def prompt_of(text: str) -> Prompt:
    """The event fields for a prompt text: its excerpt (the start) and SimHash, cached."""
    prompt = _SIMHASH_CACHE.get(text)
    if prompt is None:
        prompt = Prompt(text[:EXCERPT_CHARS], simhash_hex(text))
        if len(_SIMHASH_CACHE) < _CACHE_LIMIT:
            _SIMHASH_CACHE[text] = prompt
    return prompt


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tools_sha256(tools: list[dict]) -> str:
    """SHA-256 of the tool definitions as canonical JSON (sorted keys, no spaces), as the spec says."""
    return hashlib.sha256(orjson.dumps(tools, option=orjson.OPT_SORT_KEYS)).hexdigest()


# ---- ordinary requests ------------------------------------------------------------------

_LANGS = ["Python", "TypeScript", "Go", "Rust", "Java", "C#", "Kotlin", "SQL", "Bash", "Ruby", "PHP", "C++"]
_CODING_ASKS = [
    "Why does my {lang} code throw {error} when I {action}?",
    "Write a {lang} function that {task}.",
    "How do I {action} in {lang} without {constraint}?",
    "Refactor this {lang} snippet so that it {task}: {snippet}",
    "Explain the difference between {concept_a} and {concept_b} in {lang}.",
    "Review my {lang} code for bugs, it should {task}. {snippet}",
    "What is the idiomatic way to {action} in {lang}?",
    "My CI fails with {error} after upgrading {lib}. How do I fix it?",
]
_ERRORS = [
    "a KeyError",
    "a null pointer exception",
    "'index out of range'",
    "a deadlock",
    "a segmentation fault",
    "'module not found'",
    "a timeout",
    "a duplicate column error",
    "a type mismatch",
    "an SSL certificate error",
]
_ACTIONS = [
    "parse a large CSV file",
    "retry failed HTTP requests",
    "read environment variables",
    "stream a file upload",
    "cache database queries",
    "sort a list of dicts by two keys",
    "run tasks in parallel",
    "validate an email address",
    "paginate an API",
    "mock a datetime in tests",
    "connect to PostgreSQL",
    "handle time zones",
]
_TASKS = [
    "deduplicates records by id",
    "parses an ISO 8601 timestamp and returns UTC",
    "merges two sorted arrays",
    "computes a moving average",
    "checks whether a string is a palindrome",
    "flattens nested JSON",
    "rate-limits calls per user",
    "converts Markdown headings to a table of contents",
    "finds the shortest path in a grid",
    "batches database inserts",
]
_CONSTRAINTS = ["a third-party library", "blocking the event loop", "loading it all in memory", "global state"]
_CONCEPTS = [
    ("a list", "a tuple"),
    ("an interface", "an abstract class"),
    ("async", "threads"),
    ("a mutex", "a channel"),
    ("composition", "inheritance"),
    ("a value type", "a reference type"),
]
_LIBS = ["Django 5.2", "React 19", "pandas 2.2", "Spring Boot 3", "Node 22", "pytest 8", "Next.js 15"]
_SNIPPETS = [
    "for i in range(len(xs)): if xs[i] == x: return i",
    "const out = items.map(i => i.value).filter(Boolean)",
    "rows = cursor.fetchall(); data = [dict(r) for r in rows]",
    "if err != nil { return nil, err }",
    "let v: Vec<i32> = input.iter().map(|x| x * 2).collect();",
]

_CHAT_ASKS = [
    "What's a good name for a {pet} puppy?",
    "Can you help me write a polite email to my {person} about {topic}?",
    "Give me a {days}-day itinerary for {city}.",
    "What should I cook for dinner with {food_a} and {food_b}?",
    "Summarize the main arguments for and against {topic}.",
    "Translate this into {language}: {sentence}",
    "How do I explain {concept} to a ten-year-old?",
    "Write a short birthday message for my {person}.",
    "What are some tips to {goal}?",
    "Draft a LinkedIn post announcing that I {news}.",
    "Is it normal that my {pet} {behaviour}?",
    "Suggest five books similar to {book}.",
]
_FILL = {
    "pet": ["golden retriever", "beagle", "cat", "parrot", "corgi"],
    "person": ["landlord", "manager", "teacher", "neighbour", "sister", "colleague"],
    "topic": ["a late payment", "remote work", "the school trip", "noise at night", "a project delay", "nuclear power"],
    "days": ["two", "three", "five"],
    "city": ["Lisbon", "Kyoto", "Mexico City", "Berlin", "Hanoi", "Cape Town", "Toronto"],
    "food_a": ["chickpeas", "salmon", "tofu", "leftover rice", "spinach"],
    "food_b": ["lemon", "coconut milk", "feta", "eggs", "mushrooms"],
    "language": ["Spanish", "German", "Japanese", "French", "Portuguese"],
    "sentence": ["Where is the train station?", "Thank you for your help.", "The meeting moved to Friday."],
    "concept": ["inflation", "photosynthesis", "compound interest", "black holes", "vaccines"],
    "goal": ["sleep better", "run a first 10k", "learn to budget", "stop procrastinating", "prepare for an interview"],
    "news": ["started a new job", "finished my degree", "launched a side project"],
    "behaviour": ["sleeps all day", "chews furniture", "barks at night"],
    "book": ["Project Hail Mary", "Educated", "The Name of the Wind", "Sapiens"],
}

_REASONING_ASKS = [
    "A train leaves at {h}:{m:02d} and travels {d} km at {v} km/h. When does it arrive?",
    "Prove that the sum of the first {n} odd numbers is a perfect square.",
    "If a tank holds {d} litres and leaks {v} litres per hour, how long until it is a quarter full?",
    "Which is larger, {n} factorial or {d} to the power {v}? Explain.",
    "A store discounts an item by {v} percent and then raises it by {n} percent. What is the net change?",
    "Find all integer solutions of x squared minus {n} y squared equals 1 with x below {d}.",
    "Estimate how many piano tuners work in a city of {d} thousand people.",
]
_COT_PREFIXES = [
    "Solve the following problem step by step and show all of your reasoning before the final answer.",
    "Think through this carefully and write out every intermediate step.",
    "Show your complete chain of thought, then give the answer.",
]

_VISION_ASKS = [
    "Describe what is in this photo of {thing}.",
    "Read the text in this screenshot of {thing} and summarize it.",
    "What is wrong with the chart in this image of {thing}?",
    "Extract the table from this scanned {thing} as CSV.",
]
_VISION_THINGS = ["a receipt", "a whiteboard", "a street sign", "an invoice", "a lab notebook", "a dashboard"]

_AGENTIC_ASKS = [
    "Search the docs for how to {action} and then write an example.",
    "Open the repository, find where we {action} and add a unit test.",
    "Plan the steps to {goal} and call the calendar tool for each step.",
]

_OTHER_ASKS = [
    "Classify the sentiment of this review: {sentence}",
    "Extract the names and dates from: {sentence}",
    "Generate ten product names for a {pet} toy brand.",
]


def _fill(template: str, rng: random.Random) -> str:
    values: dict[str, object] = {k: v[rng.randrange(len(v))] for k, v in _FILL.items()}
    a, b = _CONCEPTS[rng.randrange(len(_CONCEPTS))]
    values.update(
        lang=_LANGS[rng.randrange(len(_LANGS))],
        error=_ERRORS[rng.randrange(len(_ERRORS))],
        action=_ACTIONS[rng.randrange(len(_ACTIONS))],
        task=_TASKS[rng.randrange(len(_TASKS))],
        constraint=_CONSTRAINTS[rng.randrange(len(_CONSTRAINTS))],
        concept_a=a,
        concept_b=b,
        lib=_LIBS[rng.randrange(len(_LIBS))],
        snippet=_SNIPPETS[rng.randrange(len(_SNIPPETS))],
        thing=_VISION_THINGS[rng.randrange(len(_VISION_THINGS))],
        h=rng.randrange(5, 22),
        m=rng.randrange(60),
        d=rng.randrange(20, 900),
        v=rng.randrange(3, 90),
        n=rng.randrange(3, 40),
    )
    return template.format(**values)


def _generator(templates: list[str]) -> Callable[[random.Random], str]:
    return lambda rng: _fill(templates[rng.randrange(len(templates))], rng)


ORDINARY_GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "coding": _generator(_CODING_ASKS),
    "chat": _generator(_CHAT_ASKS),
    "reasoning": _generator(_REASONING_ASKS),
    "vision": _generator(_VISION_ASKS),
    "agentic": _generator(_AGENTIC_ASKS),
    "other": _generator(_OTHER_ASKS),
}


def cot_text(question: str, rng: random.Random) -> str:
    """A question wrapped in an instruction to reveal step-by-step reasoning."""
    return f"{_COT_PREFIXES[rng.randrange(len(_COT_PREFIXES))]} {question}"


class PromptPool:
    """A finite, seeded pool of texts for one category; picks return ready event fields."""

    def __init__(self, generate: Callable[[random.Random], str], *, size: int, rng: random.Random) -> None:
        self._texts = [generate(rng) for _ in range(size)]

    def __len__(self) -> int:
        return len(self._texts)

    def text(self, index: int) -> str:
        return self._texts[index % len(self._texts)]

    def pick(self, rng: random.Random) -> Prompt:
        return prompt_of(self._texts[rng.randrange(len(self._texts))])


def ordinary_pools(rng: random.Random, *, size: int) -> dict[str, PromptPool]:
    return {name: PromptPool(gen, size=size, rng=rng) for name, gen in ORDINARY_GENERATORS.items()}


# ---- system prompts and tool harnesses ------------------------------------------------

COMMON_SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are a helpful, concise assistant. Answer in Markdown.",
    "You are an expert software engineer. Answer with code where possible.",
]


def personal_system_prompt(rng: random.Random) -> str:
    """A developer's own app prompt: unique to them, so it links nobody else."""
    app = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randrange(5, 10))).capitalize()
    role = rng.choice(["support bot", "writing helper", "study buddy", "SQL assistant", "recipe planner", "tutor"])
    return f"You are {app}, a {role}. Be friendly and keep answers under {rng.randrange(100, 400)} words."


def tool(name: str, description: str, **params: str) -> dict:
    return {
        "name": name,
        "description": description,
        "input_schema": {
            "type": "object",
            "properties": {key: {"type": kind} for key, kind in params.items()},
            "required": sorted(params),
        },
    }


def personal_tools(rng: random.Random) -> list[dict]:
    names = ["get_weather", "lookup_order", "search_notes", "create_ticket", "query_db", "send_sms", "fetch_url"]
    chosen = rng.sample(names, k=rng.randrange(1, 4))
    return [tool(name, f"{name.replace('_', ' ')} for the app", query="string") for name in sorted(chosen)]
