from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from results import disclosure
from results.disclosure import Context, Figure

from .attacker import attack, exact_ranges, leaks, propagate

K = 10
CONTEXT = Context(
    kinds={"size": "single", "tools": "multi", "q": "single", "m": "multi", "grid": "matrix",
           "country": "single"},
    dimension_kinds={"size": "single", "tools": "multi"},
    groupings={"country": ("size", {"c1": "s", "c2": "s", "c3": "m", "c4": "l"})},
)  # fmt: skip
COUNTRIES = {"c1": "s", "c2": "s", "c3": "m", "c4": "l"}
SIZES = ["s", "m", "l"]
TOOLS = ["x", "y"]
Q = ["a", "b", "c"]
M = ["p", "r"]
GRID_ROWS = ["r1", "r2"]
GRID_COLUMNS = ["yes", "no"]

respondent = st.fixed_dictionaries(
    {
        "country": st.sampled_from([None, "c1", "c2", "c3", "c4"]),
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
    """The figures a build would make, counted here the slow, obvious way.

    Size (a dimension) is derived from country, which is published overall only; tools is
    a multiple-choice dimension; size and tools are crossed one way only.
    """
    for person in people:
        person["size"] = COUNTRIES.get(person.get("country") or "")
    segments = [("", "")] + [("size", s) for s in SIZES] + [("tools", t) for t in TOOLS]
    figures = []
    for dimension, segment in segments:
        group = [p for p in people if not dimension or in_segment(p, dimension, segment)]
        asked = [("q", Q), ("m", M)]
        if not dimension:
            asked += [("size", SIZES), ("tools", TOOLS), ("country", list(COUNTRIES))]
        elif dimension == "size":
            asked += [("tools", TOOLS)]
        for question, choices in asked:
            answered = [p for p in group if p.get(question)]
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


def protected(people: list[dict]) -> tuple[list[Figure], dict[str, int | None]]:
    """As a build does it: a wave under k publishes its summary only, without its n."""
    if len(people) < K:
        return [], {"1": None}
    figures = figures_of(people)
    totals: dict[str, int | None] = {"1": len(people)}
    return disclosure.protect(figures, CONTEXT, K, totals).figures, totals


def public_rows(figures: list[Figure]) -> list[dict]:
    """The figures as cells.csv rows: empty where hidden."""
    return [
        {"measure": f.measure, "wave": f.wave, "question": f.question, "choice": f.choice,
         "option": f.option, "dimension": f.dimension, "segment": f.segment,
         "base_n": "" if f.base_n is None else str(f.base_n),
         "count": "" if f.count is None else str(f.count), "flag": f.flag}
        for f in figures
    ]  # fmt: skip


CODEBOOK = [
    {"record": "question", "question": q, "kind": kind, "is_dimension": q in ("size", "tools")}
    for q, kind in CONTEXT.kinds.items()
] + [
    {"record": "choice", "wave": "1", "question": "country", "key": c, "group": f"size:{s}"}
    for c, s in COUNTRIES.items()
]


def outsider(figures: list[Figure], totals, *, exact: bool) -> list:
    found = attack(public_rows(figures), CODEBOOK, totals, K)
    propagate(found)
    if exact:
        exact_ranges(found)
    return leaks(found, K)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(respondent, min_size=0, max_size=120))
def test_an_outsider_propagating_bounds_recovers_nothing_under_k(people):
    shown, totals = protected(people)
    assert disclosure.audit_figures(shown, CONTEXT, K, totals)["passed"]
    assert outsider(shown, totals, exact=False) == []


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(respondent, min_size=10, max_size=40))
def test_an_outsider_solving_exactly_over_the_integers_recovers_nothing_under_k(people):
    shown, totals = protected(people)
    assert outsider(shown, totals, exact=True) == []


@settings(max_examples=40, deadline=None)
@given(st.lists(respondent, min_size=0, max_size=80))
def test_every_hidden_value_carries_the_one_public_flag_and_a_private_reason(people):
    shown, _ = protected(people)
    for figure in shown:
        if figure.count is None:
            assert figure.flag == disclosure.HIDDEN
            assert figure.reason in disclosure.REASONS
        elif figure.base_n is None:  # the count shown, its base hidden
            assert figure.flag == disclosure.HIDDEN_BASE
            assert figure.reason in disclosure.REASONS
        else:
            assert figure.flag == "" and figure.reason == ""


def row(question: str, counts: dict[str, int], dimension: str = "", segment: str = "",
        base: int | None = None) -> list[Figure]:  # fmt: skip
    base = sum(counts.values()) if base is None else base
    return [Figure("share", "1", question, c, "", dimension, segment, base, n)
            for c, n in counts.items()]  # fmt: skip


def test_a_count_below_k_is_hidden_with_enough_of_its_row_to_leave_k_of_room():
    figures = row("q", {"a": 3, "b": 60, "c": 37})
    shown = disclosure.protect(figures, CONTEXT, K, {"1": 100}).figures
    assert shown[0].count is None and shown[0].reason == disclosure.REASON_SMALL
    assert [f.count for f in shown][1] == 60 and shown[2].count is None
    assert shown[2].reason == disclosure.REASON_SECONDARY
    assert all(f.base_n == 100 for f in shown)


def test_a_base_below_k_hides_the_whole_row():
    figures = row("m", {"p": 0, "r": 7}, base=7)
    shown = disclosure.protect(figures, CONTEXT, K, {"1": 50}).figures
    assert all(f.base_n is None and f.count is None for f in shown)
    assert {f.reason for f in shown} == {disclosure.REASON_BASE}


def test_a_count_whose_complement_is_small_is_hidden():
    shown = disclosure.protect(row("m", {"p": 46}, base=50), CONTEXT, K, {"1": 60}).figures
    assert shown[0].count is None and shown[0].reason == disclosure.REASON_SMALL


def test_k_is_never_below_five():
    assert disclosure.k_for(3) == 5
    assert disclosure.k_for(None) == 10
    assert disclosure.k_for(12) == 12


def test_audit_catches_a_count_recovered_from_the_row_total():
    figures = row("q", {"a": 3, "b": 60, "c": 37})
    figures[0].count, figures[0].flag = None, disclosure.HIDDEN
    report = disclosure.audit_figures(figures, CONTEXT, K, {"1": 100})
    assert not report["passed"]
    assert report["violations"][0]["lo"] == report["violations"][0]["hi"] == 3


def test_audit_catches_a_small_count_published_outright():
    report = disclosure.audit_figures(row("q", {"a": 3, "b": 97}), CONTEXT, K, {"1": 100})
    assert not report["passed"]


# The five ways the earlier protection leaked, each as the case that showed it.


def test_a_cross_of_two_dimensions_is_published_one_way_only():
    dims = ["role", "industry"]
    assert disclosure.crossed("industry", "role", dims, set())
    assert not disclosure.crossed("role", "industry", dims, set())
    assert not disclosure.crossed("role", "role", dims, set())


def test_a_country_is_never_crossed_and_cannot_be_recovered_from_its_region():
    assert not disclosure.crossed("country", "industry", ["region", "industry"], {"country"})
    # Region s is c1 + c2: 84 = 77 + 7 would give c2 away if only c2 were hidden.
    figures = row("country", {"c1": 77, "c2": 7, "c3": 40, "c4": 30}) + row(
        "size", {"s": 84, "m": 40, "l": 30})  # fmt: skip
    shown = disclosure.protect(figures, CONTEXT, K, {"1": 154}).figures
    assert outsider(shown, {"1": 154}, exact=True) == []
    assert shown[1].count is None


def test_a_segment_base_cannot_give_away_how_many_in_the_segment_skipped_a_question():
    # 40 people in size=s, 35 of them answered m: 5 skipped, a group no cell shows.
    people = [{"country": "c1", "tools": [], "q": "a", "m": ["p"] if i < 35 else [], "grid": {}}
              for i in range(40)]  # fmt: skip
    people += [{"country": "c3", "tools": [], "q": "b", "m": ["r"], "grid": {}}
               for _ in range(60)]  # fmt: skip
    shown, totals = protected(people)
    assert disclosure.audit_figures(shown, CONTEXT, K, totals)["passed"]
    assert outsider(shown, totals, exact=True) == []
    base = next(f for f in shown if f.question == "m" and f.segment == "s")
    assert base.base_n is None  # 40 - 35 = 5 would be pinned


def test_published_zeros_and_the_hidden_flag_do_not_pin_a_hidden_count():
    # A region of 4 people, one country with all 4, the others published as 0: hiding the 4
    # alone says 'between 1 and 9' and the zeros say the rest; the row must hide more.
    figures = row("country", {"c1": 4, "c2": 0, "c3": 50, "c4": 46}) + row(
        "size", {"s": 4, "m": 50, "l": 46})  # fmt: skip
    shown = disclosure.protect(figures, CONTEXT, K, {"1": 100}).figures
    assert all(f.count == 0 for f in shown if f.choice == "c2")
    assert outsider(shown, {"1": 100}, exact=True) == []


def test_weighted_shares_are_published_only_where_the_counts_already_give_them():
    publishable = disclosure.weighted_publishable
    assert publishable(raked_on=["region"], employer_cap=None, dimension="", row_shown=True)
    assert not publishable(raked_on=["region", "role"], employer_cap=None, dimension="",
                           row_shown=True)  # fmt: skip
    assert not publishable(raked_on=["region"], employer_cap=3, dimension="", row_shown=True)
    assert not publishable(raked_on=["region"], employer_cap=None, dimension="role",
                           row_shown=True)  # fmt: skip
    assert not publishable(raked_on=["region"], employer_cap=None, dimension="", row_shown=False)


def test_summary_counts_below_k_are_hidden_with_one_more_when_the_total_would_give_them():
    shown = disclosure.protect_counts({"newsletter": 50, "social": 4, "direct": 20}, K, total=74)
    assert shown == {"direct": None, "newsletter": 50, "social": None}


@given(st.dictionaries(st.sampled_from(list("abcdef")), st.integers(0, 60), min_size=1))
def test_summary_counts_never_show_or_give_away_a_small_number(counts):
    total = sum(counts.values())
    shown = disclosure.protect_counts(counts, K, total=total)
    assert not any(n is not None and 1 <= n < K for n in shown.values())
    hidden = [counts[key] for key, n in shown.items() if n is None]
    if not 1 <= total < K:
        assert not hidden or not 1 <= sum(hidden) < K
        assert len(hidden) != 1
