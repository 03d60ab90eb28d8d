"""Small numbers suppressed, so that no published figure lets anyone recognise a person.

Primary suppression: a count from 1 to threshold − 1 is shown « < threshold ». Zero is shown.

Secondary suppression, for rows that add up to a shown total: with the total and the shown rows,
the sum of the hidden rows is known. The page says which hidden rows are small (« < 10 ») and
which are hidden for protection (« masqué », at least the threshold), so a reader knows each
hidden row's bounds: [1, threshold − 1] or [threshold, total]. Whenever those bounds and the sum
pin a hidden row to one value, the smallest shown non-zero row is hidden too, and so on; when
no row is left to hide, the total is hidden. A total below the threshold hides everything.

`tests/unit/test_figures_suppression.py` proves by brute force, on every small table, that no
hidden value is determined by what is shown and those bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_THRESHOLD = 5
DEFAULT_THRESHOLD = 10


@dataclass(frozen=True)
class Cell:
    code: str
    count: int | None  # None when suppressed
    suppressed: bool
    small: bool = False  # suppressed because below the threshold (else: to protect another)


@dataclass(frozen=True)
class Table:
    cells: tuple[Cell, ...]
    total: Cell | None


def check_threshold(value: int) -> int:
    if value < MIN_THRESHOLD:
        raise ValueError(f"le seuil de secret statistique ne peut pas être inférieur à "
                         f"{MIN_THRESHOLD}")
    return value


def suppress(counts: dict[str, int], threshold: int, *, additive: bool) -> Table:
    """The publishable table of `counts` (row order kept)."""
    hidden = {code for code, n in counts.items() if 0 < n < threshold}
    total = sum(counts.values()) if additive else None
    total_hidden = False
    if additive and total is not None:
        if 0 < total < threshold:
            hidden, total_hidden = {c for c, n in counts.items() if n > 0}, True
        else:
            while hidden and _determined(counts, hidden, threshold):
                candidates = sorted((n, code) for code, n in counts.items()
                                    if n > 0 and code not in hidden)
                if not candidates:
                    total_hidden = True
                    break
                hidden.add(candidates[0][1])
    cells = tuple(Cell(code, None if code in hidden else n, code in hidden,
                       code in hidden and n < threshold) for code, n in counts.items())
    total_cell = None if total is None else Cell("total", None if total_hidden else total,
                                                 total_hidden)
    return Table(cells, total_cell)


def _determined(counts: dict[str, int], hidden: set[str], threshold: int) -> bool:
    """Could a hidden row be recomputed from the total, the shown rows and the known bounds
    of each hidden row (small: 1 to threshold − 1; masked: threshold or more)?"""
    total = sum(counts.values())
    bounds = {c: (1, threshold - 1) if counts[c] < threshold else (threshold, total)
              for c in hidden}
    residual = sum(counts[c] for c in hidden)
    for code in hidden:
        others_low = sum(lo for c, (lo, _hi) in bounds.items() if c != code)
        others_high = sum(hi for c, (_lo, hi) in bounds.items() if c != code)
        low = max(bounds[code][0], residual - others_high)
        high = min(bounds[code][1], residual - others_low)
        if low >= high:
            return True
    return False
