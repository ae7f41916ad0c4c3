"""The corpus report's charts: matplotlib figures rendered to PNG (base64), pure data in.

Counts are small on a young corpus (1-7 documents in a bin), so count axes are linear with
integer ticks; a chart whose data is empty is not drawn at all (the page says so instead).
"""

from __future__ import annotations

import base64
import io
from collections import Counter, defaultdict

import matplotlib

matplotlib.use("Agg")  # no display: render to memory
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

KEPT_COLOR, DROPPED_COLOR, BAR_COLOR, THRESHOLD_COLOR = "#55a868", "#c44e52", "#4c72b0", "#222222"
MAX_SIGNAL_PANELS = 12


def to_png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _integer_counts(axis) -> None:
    """Whole-number ticks on a count axis, starting at 0."""
    axis.set_major_locator(MaxNLocator(integer=True))


def bar_figure(
    labels: list[str], values: list[float], title: str, horizontal: bool = True, xlabel: str = "", ylabel: str = ""
):
    fig, ax = plt.subplots(figsize=(7, max(2.2, 0.35 * len(labels) + 1)) if horizontal else (7, 3.2))
    if horizontal:
        ax.barh(labels[::-1], values[::-1], color=BAR_COLOR)
        _integer_counts(ax.xaxis)
        ax.set_xlabel(xlabel)
        for y, v in enumerate(values[::-1]):
            ax.text(v, y, f" {v:,}", va="center", fontsize=8)
    else:
        ax.bar(labels, values, color=BAR_COLOR)
        _integer_counts(ax.yaxis)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig


def kept_dropped_figure(rows: list[dict]):
    """Word count and quality score, kept against dropped documents, side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, column, label in ((axes[0], "word_count", "words per document"),
                              (axes[1], "quality_score", "quality score (0..1)")):  # fmt: skip
        kept = [r[column] for r in rows if r["kept"] and r[column] is not None]
        dropped = [r[column] for r in rows if not r["kept"] and r[column] is not None]
        values = kept + dropped
        if not values:
            ax.text(0.5, 0.5, "no values", ha="center", va="center")
            ax.set_axis_off()
            continue
        bins, log_x = _value_bins(values)
        ax.hist([kept, dropped], bins=bins, stacked=True, color=[KEPT_COLOR, DROPPED_COLOR],
                label=[f"kept ({len(kept)})", f"dropped ({len(dropped)})"])  # fmt: skip
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("documents")
        _integer_counts(ax.yaxis)
        ax.legend(fontsize=8)
    fig.suptitle("kept vs dropped documents")
    return fig


def _bins(values: list[float], most: int = 30) -> int:
    return max(5, min(most, len(set(values))))


def _value_bins(values: list[float]) -> tuple[int | list[float], bool]:
    """Linear bins, or log-spaced ones on a log value axis when the values span more than two
    decades (document lengths from 20 to 20,000 words): the count axis stays linear either way."""
    low, high = min(values), max(values)
    if low > 0 and high / low > 100:
        return list(np.geomspace(low, high, 31)), True
    return _bins(values), False


def signal_figure(rows: list[dict], drops_by_filter: dict[str, int]):
    """One small histogram per filter: its signal's values, kept and dropped stacked, the
    threshold as a dashed line. The filters that dropped the most come first."""
    by_filter: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_filter[r["filter"]].append(r)
    # A signal with one value everywhere and no drop (no lorem ipsum anywhere) says nothing.
    informative = [f for f in by_filter if drops_by_filter.get(f) or len({r["value"] for r in by_filter[f]}) > 1]
    names = sorted(informative, key=lambda f: (-drops_by_filter.get(f, 0), f))[:MAX_SIGNAL_PANELS]
    cols = 3
    nrows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(10, 2.6 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        values = by_filter[name]
        kept = [r["value"] for r in values if r["kept"]]
        dropped = [r["value"] for r in values if not r["kept"]]
        ax.hist([kept, dropped], bins=_bins(kept + dropped, 25), stacked=True, color=[KEPT_COLOR, DROPPED_COLOR])
        # A filter's threshold can differ by language or profile: draw the three most used.
        thresholds = [t for t, _ in Counter(r["threshold"] for r in values).most_common(3)]
        for threshold in thresholds:
            ax.axvline(threshold, color=THRESHOLD_COLOR, linestyle="--", linewidth=1.2)
        ax.set_title(f"{name}\n{len(dropped)} dropped, threshold {_fmt(thresholds[0])}", fontsize=8)
        ax.tick_params(labelsize=7)
        _integer_counts(ax.yaxis)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def _fmt(value: float) -> str:
    return f"{value:g}"
