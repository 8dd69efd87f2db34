"""The benchmark's history: one entry per `make bench` run in bench/history.json, drawn as bench/history.svg.

The chart shows each target's ratio (ours over its reference, measured in the same run) across
runs, divided by the target's bound: a line under 1.0 means the target holds (for "at least"
targets, the bound is divided by the ratio, so under 1.0 means met there too). Plain SVG, written
here: no plotting library.
"""

from __future__ import annotations

import datetime
import html
import json
import subprocess
from pathlib import Path

KEEP = 60  # runs kept in the history
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]
SHORT = {  # legend labels, in the targets' order
    "cold start to the first 200, new person": "cold start, new person",
    "cold start to the first 200, returning person": "cold start, returning",
    "server CPU per Messenger message": "CPU per message",
    "Messenger messages per second": "messages per second",
    "/health CPU per request": "/health CPU",
    "time to the first reply, new person, cold": "first reply, new, cold",
    "time to the first reply, new person, warm": "first reply, new, warm",
    "time to the first reply, returning person, cold": "first reply, returning, cold",
    "time to the first reply, returning person, warm": "first reply, returning, warm",
}


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def record(path: Path, out: dict) -> None:
    runs = json.loads(path.read_text()) if path.exists() else []
    runs.append(
        {
            "at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
            "commit": commit(),
            "python": out["machine"]["python"],
            "targets": {t["name"].split(" (")[0]: [round(t["ratio"], 3), t["bound"]] for t in out["targets"]},
        }
    )
    path.write_text(json.dumps(runs[-KEEP:], indent=1, ensure_ascii=False) + "\n")


def score(ratio: float, bound: str) -> float:
    """The ratio against its bound: under 1.0 is met, whichever way the bound points."""
    op, value = bound.split()
    return ratio / float(value) if op == "≤" else float(value) / ratio


def chart(path: Path, svg: Path) -> None:
    runs = json.loads(path.read_text()) if path.exists() else []
    names = list(SHORT)
    width, height, left, right, top, bottom = 900, 420, 60, 250, 30, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    points = {n: [(i, score(*r["targets"][n])) for i, r in enumerate(runs) if n in r["targets"]] for n in names}
    values = [v for series in points.values() for _, v in series] or [1.0]
    low, high = min(0.5, min(values) - 0.05), max(1.5, max(values) + 0.05)
    x = lambda i: left + (plot_w * i / max(1, len(runs) - 1) if len(runs) > 1 else plot_w / 2)  # noqa: E731
    y = lambda v: top + plot_h * (high - v) / (high - low)  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="18" font-size="14">make bench: each target\'s ratio over its bound, by run '
        "(under 1.0: met)</text>",
    ]
    for tick in [low + (high - low) * k / 5 for k in range(6)]:
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.2f}</text>')
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{y(1.0):.1f}" y2="{y(1.0):.1f}" stroke="black" '
        'stroke-dasharray="6 4"/>'
    )
    for i, run in enumerate(runs):
        if len(runs) <= 12 or i % max(1, len(runs) // 12) == 0 or i == len(runs) - 1:
            label = html.escape(f"{run['at'][5:10]} {run['commit']}")
            parts.append(
                f'<text x="{x(i):.1f}" y="{top + plot_h + 18}" text-anchor="middle" font-size="10">{label}</text>'
            )
    for n, name in enumerate(names):
        colour, series = COLOURS[n % len(COLOURS)], points[name]
        if len(series) > 1:
            path_d = " ".join(f"{'M' if k == 0 else 'L'}{x(i):.1f},{y(v):.1f}" for k, (i, v) in enumerate(series))
            parts.append(f'<path d="{path_d}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, v in series:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
        legend_y = top + 16 * n + 10
        parts.append(f'<rect x="{left + plot_w + 15}" y="{legend_y - 9}" width="12" height="3" fill="{colour}"/>')
        parts.append(f'<text x="{left + plot_w + 32}" y="{legend_y - 4}">{html.escape(SHORT[name])}</text>')
    parts.append("</svg>")
    svg.write_text("\n".join(parts) + "\n")
