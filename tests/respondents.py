"""A simulated respondent: completes the Census through the HTML pages of a running server,
as a browser without JavaScript would (cookies, CSRF token, one POST per page).

`python -m tests.respondents BASE --seconds S --concurrency N [--think T]` runs a crowd in a
process of its own (so the load generator does not share a GIL with what it measures) and
prints its summary as JSON.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

# One respondent's answers, page by page (the form's field names).
CENSUS_PAGES_POST: list[dict[str, Any]] = [
    {
        "q_role": "data-scientist",
        "q_company_size": "50-249",
        "q_industry": "tech",
        "q_region": "europe",
        "q_ml_experience": "2-5",
        "q_company_name": "Acme Analytics",
    },
    {"q_project_types": ["research", "prototyping"], "q_domains": ["llm-nlp"]},
    {
        "q_frameworks_used": ["pytorch", "jax"],
        "q_framework_status__pytorch": "new-projects",
        "q_framework_status__tensorflow": "stopped",
    },
    {
        "q_primary_framework": "pytorch",
        "q_migrated": "yes",
        "q_migration_from": "tensorflow",
        "q_migration_to": "pytorch",
    },
    {"q_satisfaction": "4", "q_comment": "More JAX tutorials, please."},
]

HIDDEN = re.compile(
    r'<input type="hidden" name="(csrfmiddlewaretoken|page|started)" value="([^"]*)"'
)
TRACEBACK_MARKERS = ("Traceback", "technical_500", "Exception Value")


@dataclass
class Outcome:
    statuses: Counter = field(default_factory=Counter)
    thanked: bool = False
    tracebacks: int = 0
    latencies: list[float] = field(default_factory=list)
    error: str = ""


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


def _call(
    opener: urllib.request.OpenerDirector,
    outcome: Outcome,
    url: str,
    data: list[tuple[str, str]] | None = None,
    timeout: float = 60,
) -> tuple[int, str, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    started = time.monotonic()
    try:
        with opener.open(url, data=body, timeout=timeout) as answer:  # noqa: S310 (test server)
            status, text, final = answer.status, answer.read().decode(), answer.url
    except urllib.error.HTTPError as error:
        status, text, final = error.code, error.read().decode(errors="replace"), url
    outcome.latencies.append(time.monotonic() - started)
    outcome.statuses[status] += 1
    if status >= 500 and any(marker in text for marker in TRACEBACK_MARKERS):
        outcome.tracebacks += 1
    return status, text, final


def _pause(think: float) -> None:
    """A person reading and answering a page: `think` seconds on average, never in step."""
    if think > 0:
        time.sleep(random.uniform(0.5 * think, 1.5 * think))  # noqa: S311 (not security)


def complete_census(
    base: str, slug: str = "census-2026", timeout: float = 60, think: float = 0
) -> Outcome:
    """One respondent: page 1 to the thank-you page, `think` seconds on each page on average.
    Never raises (errors go in Outcome)."""
    outcome = Outcome()
    opener = _opener()
    url = f"{base}/s/{slug}/"
    try:
        status, html, _ = _call(opener, outcome, url, timeout=timeout)
        for page in CENSUS_PAGES_POST:
            _pause(think)
            if status != 200:
                outcome.error = f"page answered {status}"
                return outcome
            hidden = dict(HIDDEN.findall(html))
            data = [(k, v) for k, v in hidden.items()] + [("action", "next")]
            for name, value in page.items():
                for item in value if isinstance(value, list) else [value]:
                    data.append((name, item))
            status, html, final = _call(opener, outcome, url, data, timeout=timeout)
        outcome.thanked = status == 200 and final.rstrip("/").endswith("/thanks")
        if not outcome.thanked:
            outcome.error = f"ended on {final} ({status})"
    except OSError as error:  # connection refused, reset, timed out
        outcome.error = f"{type(error).__name__}: {error}"
        outcome.statuses["connection-error"] += 1
    return outcome


def crowd(base: str, *, respondents: int, concurrency: int, timeout: float = 60) -> list[Outcome]:
    """`respondents` respondents, `concurrency` at a time."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda _: complete_census(base, timeout=timeout), range(respondents)))


def crowd_for(
    base: str, *, seconds: float, concurrency: int, timeout: float = 60, think: float = 0
) -> list[Outcome]:
    """`concurrency` respondents at a time, each starting again until `seconds` have passed.
    With a think time, their first arrivals are spread over one page's time, as people's are."""
    deadline = time.monotonic() + seconds

    def worker(_: int) -> list[Outcome]:
        _pause(think)
        done = []
        while time.monotonic() < deadline:
            done.append(complete_census(base, timeout=timeout, think=think))
        return done

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return [o for batch in pool.map(worker, range(concurrency)) for o in batch]


def summary(outcomes: list[Outcome]) -> dict:
    statuses: Counter = Counter()
    for outcome in outcomes:
        statuses.update(outcome.statuses)
    latencies = sorted(x for o in outcomes for x in o.latencies)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    return {
        "respondents": len(outcomes),
        "thanked": sum(o.thanked for o in outcomes),
        "statuses": dict(statuses),
        "server_errors": sum(n for s, n in statuses.items() if isinstance(s, int) and s >= 500),
        "tracebacks": sum(o.tracebacks for o in outcomes),
        "requests": len(latencies),
        "p50": round(pct(0.5), 3),
        "p99": round(pct(0.99), 3),
        "errors": Counter(o.error for o in outcomes if o.error).most_common(5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--think", type=float, default=0)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    outcomes = crowd_for(
        args.base,
        seconds=args.seconds,
        concurrency=args.concurrency,
        timeout=args.timeout,
        think=args.think,
    )
    print(json.dumps(summary(outcomes)))


if __name__ == "__main__":
    main()
