"""Accessibility and layout checks the browser tests share: axe-core (from npm, read from
node_modules and evaluated in the page, never loaded from another site, so the page's CSP
stays as it is) and the 390 px phone width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


def axe_source() -> str:
    """axe-core's source, as the test session reads it once (the `axe_source` fixture)."""
    assert AXE.exists(), f"{AXE} manque : ops/_setup.sh installe axe-core avec npm ci."
    return Path(AXE).read_text()


def axe_problems(page: Any, source: str) -> list[str]:
    """Serious and critical axe violations of the page as shown (evaluated, not injected as
    a script tag: the page's CSP stays as it is)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.map(v => ({id: v.id, impact: v.impact,
                               where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
    return [f"{v['id']} ({v['impact']}) : {v['where']}" for v in found
            if v["impact"] in BLOCKING]


def too_wide(page: Any) -> list[str]:
    """Elements that stick out of the viewport (a horizontal scroll bar at this width)."""
    return page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
        .slice(0, 5)""")


