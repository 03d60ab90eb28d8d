"""Charts of the figures, drawn on the server with matplotlib (no script in the page).

Each chart is a horizontal bar chart of the shown rows; suppressed rows are drawn as an empty
outlined bar labelled « < 10 » or « masqué », never with their length. The same figures
always follow as a table (accessibility): the chart is a picture of the table, nothing more.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: charts are files

from matplotlib import pyplot
from matplotlib.figure import Figure as Canvas

from engine.figures.service import Figure

BLUE, GREY = "#1f4e79", "#6b6b6b"


def _draw(figure: Figure, threshold: int) -> Canvas:
    rows = [r for r in figure.rows if r.count or r.suppressed]
    canvas = Canvas(figsize=(7.5, 0.45 * max(len(rows), 1) + 1.1), dpi=100)
    axes = canvas.subplots()
    labels = [r.label for r in rows][::-1]
    values = [0 if r.suppressed else r.count or 0 for r in rows][::-1]
    bars = axes.barh(labels, values, color=BLUE)
    peak = max(values, default=0) or threshold
    for bar, row in zip(bars, rows[::-1], strict=True):
        if row.suppressed:
            axes.barh(bar.get_y() + bar.get_height() / 2, threshold, height=bar.get_height(),
                      fill=False, edgecolor=GREY, linestyle="--")
            axes.text(threshold + peak * 0.01, bar.get_y() + bar.get_height() / 2,
                      row.shown(threshold), va="center", color=GREY, fontsize=9)
        else:
            axes.text(bar.get_width() + peak * 0.01, bar.get_y() + bar.get_height() / 2,
                      str(row.count), va="center", fontsize=9)
    if not rows:
        axes.text(0.5, 0.5, "Aucune donnée sur la période", ha="center", va="center",
                  transform=axes.transAxes, color=GREY)
    axes.set_title(figure.label, fontsize=11, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_xlim(0, peak * 1.18 + 1)
    axes.tick_params(labelsize=9)
    canvas.tight_layout()
    return canvas


def svg(figure: Figure, threshold: int) -> bytes:
    out = io.BytesIO()
    canvas = _draw(figure, threshold)
    canvas.savefig(out, format="svg", metadata={"Date": None})
    pyplot.close("all")
    return out.getvalue()


def png(figure: Figure, threshold: int) -> bytes:
    out = io.BytesIO()
    canvas = _draw(figure, threshold)
    canvas.savefig(out, format="png", dpi=130)
    return out.getvalue()
