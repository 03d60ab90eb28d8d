"""What every part of the benchmark shares: the protocol, the targets, the statistics, the data a
social worker types at each step."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parents[2] / "ops" / "bench"
DIAGRAM = BENCH_DIR / "bench.bpmn"
FORMS_DIR = BENCH_DIR / "forms"
PROCESS_ID = "bench_suivi"
USER = "demo-is"
WINDOW = 9  # steps per median window (growth, early/late figures)
MAX_STEPS = 990  # the diagram's loopMaximum is 1000: N + WINDOW // 2 + 1 iterations must fit
WARMUP_STEPS = 5

TARGET_RATIO = 2.5  # issue 16: engine ÷ bare SpiffWorkflow over the 200-step follow-up
# ... and at step 1 of a short protocol, per database (issue 16)
TARGET_RATIO_STEP1 = {"sqlite": 4.0, "postgresql": 6.0}
TARGET_GROWTH = 1.3  # issue 16 (was 1.5)
TARGET_TASKLIST_P95_MS = 20.0
TARGET_LOAD_SCALE = 1.7  # throughput with N web workers ÷ with one
TARGET_MESSAGES_P95_MS = 20.0  # POST /messages by correlation, 100k waiting (PostgreSQL)
TARGET_COMPLETE_P50_MS = 15.0  # server time of one task completion through the API (PG)
TARGET_FIGURES_P95_MS = 1000.0  # one year of figures at 100,000 situations (PostgreSQL)

TASKLIST_ORGANISATIONS = 30
TASKLIST_ROLES = ("IS", "ASSOCIATION", "CG_ITP", "CMP", "POLICE", "DPP")
TASKLIST_RUNNING_SHARE = 0.3  # instances still running (one ready task each)
BULK_BATCH = 5000

PG_ENV = ("RELAIS_BENCH_DATABASE_URL", "RELAIS_DATABASE_URL")

Progress = Callable[[str], None]


def quiet(_message: str) -> None:
    return None


# --- statistics ---------------------------------------------------------------------------

def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def windows(steps: int) -> tuple[int, int]:
    """(window size, half window) for N steps: 9 and 4 normally, smaller for tiny runs."""
    size = min(WINDOW, steps)
    size -= 1 - size % 2  # odd, so the late window is centred on step N
    return size, size // 2


def step_summary(times: list[float], steps: int) -> dict[str, Any]:
    """Figures of one long-lived run: `times[k]` is step k+1; steps 1…N (+ half window)."""
    size, half = windows(steps)
    early = statistics.median(times[:size])
    late = statistics.median(times[steps - 1 - half: steps + half])
    first_n = times[:steps]
    return {
        "step_ms_median": ms(statistics.median(first_n)),
        "step_ms_mean": ms(statistics.fmean(first_n)),
        "step_ms_max": ms(max(first_n)),
        "step1_ms": ms(early),
        "stepN_ms": ms(late),
        "growth": round(late / early, 3),
        "windows": [[1, size], [steps - half, steps + half]],
    }


# --- the protocol's data --------------------------------------------------------------------

def submission(step: int, continuing: bool = True) -> dict[str, Any]:
    """What a social worker types at one follow-up point (free text is encrypted)."""
    return {"continuer": continuing, "date_point": "2026-11-20",
            "observations": f"Point de suivi n° {step} : entretien téléphonique, situation "
                            "stable, prochain rendez-vous fixé, orientation vers l'association "
                            "d'aide aux victimes confirmée."}


def routing_values(step: int, continuing: bool = True) -> dict[str, Any]:
    """What the engine copies into workflow data for the same submission (invariant 1)."""
    return {"continuer": continuing, "date_point": "2026-11-20", "record_suivi": step}


