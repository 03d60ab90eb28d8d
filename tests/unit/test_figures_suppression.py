"""Small numbers suppressed: by brute force over every small table, no hidden count can be
recomputed from what is published — the shown rows, the total and the fact that a hidden row
is not zero (zeros are shown) — nor pinned down by assuming every hidden row is below the
threshold."""

from __future__ import annotations

import itertools

import pytest

from engine.figures.suppression import Table, check_threshold, suppress

CODES = ("a", "b", "c", "d")


def _possible_values(table: Table, index: int, threshold: int) -> set[int]:
    """Every value of row `index` in some table that shows exactly the same figures: the
    shown rows, the total when shown, and for each hidden row whether it is small (1 to
    threshold − 1) or masked (threshold or more). Enumerated."""
    hidden = [i for i, c in enumerate(table.cells) if c.suppressed]
    shown_sum = sum(c.count or 0 for c in table.cells if not c.suppressed)
    total = table.total.count if table.total and not table.total.suppressed else None
    ceiling = total if total is not None else 10 * threshold
    ranges = [range(1, threshold) if table.cells[i].small else range(threshold, ceiling + 1)
              for i in hidden]
    possible = set()
    for guess in itertools.product(*ranges):
        if total is None or shown_sum + sum(guess) == total:
            possible.add(guess[hidden.index(index)])
    return possible


@pytest.mark.parametrize(("rows", "threshold", "largest"), [(2, 5, 14), (3, 5, 12),
                                                            (4, 5, 8), (3, 10, 22)])
def test_no_suppressed_count_can_be_recomputed_from_a_published_table(rows, threshold, largest):
    for values in itertools.product(range(largest + 1), repeat=rows):
        table = suppress(dict(zip(CODES[:rows], values, strict=True)), threshold,
                         additive=True)
        for i, cell in enumerate(table.cells):
            assert cell.suppressed or not 0 < values[i] < threshold, (values, table)
            if cell.suppressed:
                assert cell.small == (values[i] < threshold)  # the label tells the truth
                assert len(_possible_values(table, i, threshold)) > 1, (values, table)


@pytest.mark.parametrize("threshold", [5, 10])
def test_every_count_below_the_threshold_is_hidden_and_zero_is_shown(threshold):
    table = suppress({"a": 0, "b": 1, "c": threshold - 1, "d": threshold}, threshold,
                     additive=False)
    shown = {c.code: c.count for c in table.cells}
    assert shown == {"a": 0, "b": None, "c": None, "d": threshold}
    assert table.total is None


def test_a_single_hidden_row_hides_the_smallest_other_row_too():
    table = suppress({"a": 3, "b": 40, "c": 12}, 10, additive=True)
    shown = {c.code: (c.count, c.small) for c in table.cells}
    assert shown == {"a": (None, True), "b": (40, False), "c": (None, False)}
    assert table.total is not None and table.total.count == 55


def test_a_total_below_the_threshold_hides_everything():
    table = suppress({"a": 4, "b": 0, "c": 3}, 10, additive=True)
    assert all(c.count is None for c in table.cells if c.code != "b")
    assert table.total is not None and table.total.suppressed


def test_the_threshold_is_never_below_five():
    assert check_threshold(5) == 5
    with pytest.raises(ValueError, match="inférieur à 5"):
        check_threshold(4)
