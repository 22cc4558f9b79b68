from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from results import disclosure
from results.disclosure import Context, Figure

K = 10
CONTEXT = Context(
    kinds={"size": "single", "tools": "multi", "q": "single", "m": "multi", "grid": "matrix"},
    dimension_kinds={"size": "single", "tools": "multi"},
)
SIZES = ["s", "m", "l"]
TOOLS = ["x", "y"]
Q = ["a", "b", "c"]
M = ["p", "r"]
GRID_ROWS = ["r1", "r2"]
GRID_COLUMNS = ["yes", "no"]

respondent = st.fixed_dictionaries(
    {
        "size": st.sampled_from([None, *SIZES]),
        "tools": st.lists(st.sampled_from(TOOLS), unique=True, max_size=2),
        "q": st.sampled_from([None, *Q]),
        "m": st.lists(st.sampled_from(M), unique=True, max_size=2),
        "grid": st.dictionaries(st.sampled_from(GRID_ROWS), st.sampled_from(GRID_COLUMNS)),
    }
)


def in_segment(person: dict, dimension: str, segment: str) -> bool:
    value = person[dimension]
    return segment in value if isinstance(value, list) else value == segment


def figures_of(people: list[dict]) -> list[Figure]:
    """The figures a build would make, counted here the slow, obvious way."""
    segments = [("", "")] + [("size", s) for s in SIZES] + [("tools", t) for t in TOOLS]
    figures = []
    for dimension, segment in segments:
        group = [p for p in people if not dimension or in_segment(p, dimension, segment)]
        for question, choices in (("q", Q), ("m", M)):
            answered = [p for p in group if p[question]]
            for choice in choices:
                count = sum(1 for p in answered if in_segment(p, question, choice))
                figures.append(
                    Figure(
                        "share", "1", question, choice, "", dimension, segment, len(answered), count
                    )  # fmt: skip
                )
        for row in GRID_ROWS:
            answered = [p for p in group if row in p["grid"]]
            for column in GRID_COLUMNS:
                count = sum(1 for p in answered if p["grid"][row] == column)
                figures.append(
                    Figure(
                        "share", "1", "grid", row, column, dimension, segment, len(answered), count
                    )  # fmt: skip
                )
    return figures


def small(value: int) -> bool:
    return 1 <= value <= K - 1


def single_difference_leaks(true: list[Figure], shown: list[Figure]) -> list[str]:
    """An independent check: what one subtraction over a row or a column reveals."""
    leaks = []
    pairs = list(zip(true, shown, strict=True))
    for _real, public in pairs:
        if public.count is not None and small(public.count):
            leaks.append(f"published {public}")
        if public.count is not None and public.base_n is not None:
            if small(public.base_n - public.count):
                leaks.append(f"complement {public}")
    rows: dict[tuple, list[tuple[Figure, Figure]]] = {}
    for real, public in pairs:
        if real.question in ("q", "grid"):
            rows.setdefault((real.question, real.dimension, real.segment,
                             real.choice if real.question == "grid" else ""), []).append(
                (real, public))  # fmt: skip
    for row in rows.values():
        base = row[0][1].base_n
        hidden = [real.count or 0 for real, public in row if public.count is None]
        if base is not None and hidden and small(sum(hidden)):
            leaks.append(f"row sum {row[0][0]}")
    overall = {(r.question, r.choice, r.option): (r, p) for r, p in pairs if not r.dimension}
    for r, p in pairs:
        if r.dimension == "tools" and p.count is not None:
            whole = overall[(r.question, r.choice, r.option)][1]
            if whole.count is not None and small(whole.count - p.count):
                leaks.append(f"overall minus segment {r}")
    columns: dict[tuple, list[tuple[Figure, Figure]]] = {}
    for r, p in pairs:
        if r.dimension == "size":
            columns.setdefault((r.question, r.choice, r.option), []).append((r, p))
    for cell, members in columns.items():
        whole_real, whole = overall[cell]
        if whole.count is None:
            continue
        left = (whole_real.count or 0) - sum(p.count or 0 for _, p in members)
        if small(left) and all(p.count is not None for _, p in members):
            bases_public = all(p.base_n is not None for _, p in members) and whole.base_n
            if bases_public and whole.base_n == sum(p.base_n or 0 for _, p in members):
                leaks.append(f"column {cell} gives {left}")
    return leaks


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(respondent, min_size=0, max_size=120))
def test_no_published_cell_reveals_a_small_count_directly_or_by_subtraction(people):
    true = figures_of(people)
    shown = disclosure.protect(true, CONTEXT, K)
    assert disclosure.audit_figures(shown, CONTEXT, K)["passed"]
    assert single_difference_leaks(true, shown) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(respondent, min_size=0, max_size=80))
def test_every_hidden_value_carries_a_flag_saying_why(people):
    shown = disclosure.protect(figures_of(people), CONTEXT, K)
    for figure in shown:
        if figure.count is None or figure.base_n is None:
            assert figure.flag in disclosure.SUPPRESSING
        else:
            assert figure.flag == ""


def test_a_count_below_k_is_suppressed_and_its_sibling_too():
    figures = [
        Figure("share", "1", "q", "a", "", "", "", 100, 3),
        Figure("share", "1", "q", "b", "", "", "", 100, 60),
        Figure("share", "1", "q", "c", "", "", "", 100, 37),
    ]
    shown = disclosure.protect(figures, CONTEXT, K)
    assert [f.flag for f in shown] == ["suppressed-count", "", "suppressed-secondary"]
    assert [f.count for f in shown] == [None, 60, None]
    assert all(f.base_n == 100 for f in shown)


def test_a_base_below_k_suppresses_the_whole_row():
    figures = [
        Figure("share", "1", "m", "p", "", "", "", 7, 0),
        Figure("share", "1", "m", "r", "", "", "", 7, 7),
    ]
    shown = disclosure.protect(figures, CONTEXT, K)
    assert {f.flag for f in shown} == {"suppressed-base"}
    assert all(f.base_n is None and f.count is None for f in shown)


def test_a_count_whose_complement_is_small_is_suppressed():
    figures = [Figure("share", "1", "m", "p", "", "", "", 50, 46)]
    shown = disclosure.protect(figures, CONTEXT, K)
    assert shown[0].flag == "suppressed-count"


def test_k_is_never_below_five():
    assert disclosure.k_for(3) == 5
    assert disclosure.k_for(None) == 10
    assert disclosure.k_for(12) == 12


def test_audit_catches_a_count_recovered_from_the_row_total():
    figures = [
        Figure("share", "1", "q", "a", "", "", "", 100, None, "suppressed-count"),
        Figure("share", "1", "q", "b", "", "", "", 100, 60),
        Figure("share", "1", "q", "c", "", "", "", 100, 37),
    ]
    report = disclosure.audit_figures(figures, CONTEXT, K)
    assert not report["passed"]
    assert report["violations"][0]["value"] == 3


def test_summary_counts_below_k_are_hidden_with_one_more_when_the_total_would_give_them():
    shown = disclosure.protect_counts({"newsletter": 50, "social": 4, "direct": 20}, K, total=74)
    assert shown == {"direct": None, "newsletter": 50, "social": None}


@given(st.dictionaries(st.sampled_from(list("abcdef")), st.integers(0, 60), min_size=1))
def test_summary_counts_never_show_or_give_away_a_small_number(counts):
    total = sum(counts.values())
    shown = disclosure.protect_counts(counts, K, total=total)
    assert not any(n is not None and small(n) for n in shown.values())
    hidden = [counts[key] for key, n in shown.items() if n is None]
    if not small(total):
        assert not hidden or not small(sum(hidden))
        assert len(hidden) != 1
