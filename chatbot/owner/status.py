"""Whether the bot is healthy right now: the dashboard's first screen, and ``/admin/health.json``.

Three reads: the hour's traffic document and the one before (``traffic.py``: the 5xx share of the
last 60 minutes, all instances, and when each channel last heard from its platform and last answered
it), and the platforms' problems (``alerts.py``). Healthy means no problem a platform reports, at
most 1 % of the answers of the last hour a 5xx (the threshold of the Cloud Monitoring alert), and
the platforms asked lately, which also says the scheduled job runs.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable

from chatbot.core import channels as registry
from chatbot.owner import alerts, traffic
from chatbot.store.base import Store

MAX_5XX_SHARE = 0.01
STALE_CHECK = 3 * 15 * 60.0  # three runs of the scheduled job missed


def collect(store: Store, channels: Iterable[str], now: float) -> dict:
    hour = traffic.last_hour(store, now)
    platforms = alerts.state(store)
    checked_at = platforms["checked_at"]
    reasons = [f"{title(problem['channel'])} reports a problem: {problem['name']}" for problem in platforms["open"]]
    if hour["share"] > MAX_5XX_SHARE:
        reasons.append(
            f"{hour['share']:.1%} of the answers of the last hour were errors (5xx): {hour['errors']} of "
            f"{hour['requests']}"
        )
    if checked_at is not None and now - checked_at > STALE_CHECK:
        reasons.append(f"the platforms were last asked {ago(now, checked_at)}: is the scheduled job running?")
    last = hour["last"]
    return {
        "healthy": not reasons,
        "reasons": reasons,
        "channels": {
            name: {
                "last_received": (last.get(name) or {}).get(traffic.HEARD),
                "last_answered": (last.get(name) or {}).get(traffic.ANSWERED),
            }
            for name in channels
        },
        "last_hour": {key: hour[key] for key in ("requests", "errors", "share", "families")},
        "problems": platforms["open"],
        "checked_at": checked_at,
        "now": now,
    }


def ago(now: float, at: float | None) -> str:
    if not at:
        return "not in the last two days"
    seconds = max(0.0, now - at)
    if seconds < 90:
        said = "just now"
    elif seconds < 90 * 60:
        said = f"{round(seconds / 60)} min ago"
    elif seconds < 36 * 3600:
        said = f"{round(seconds / 3600)} h ago"
    else:
        said = f"{round(seconds / 86400)} days ago"
    return f"{said} ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(at))})"


def section(now_: dict) -> str:
    """The first screen of the dashboard, as HTML (every value escaped)."""
    now = now_["now"]
    verdict = "healthy" if now_["healthy"] else "needs you"
    reasons = "".join(f"<li>{html.escape(reason)}</li>" for reason in now_["reasons"])
    rows = "".join(
        f'<tr data-channel="{html.escape(name)}"><td>{html.escape(title(name))}</td>'
        f"<td>{html.escape(ago(now, seen['last_received']))}</td>"
        f"<td>{html.escape(ago(now, seen['last_answered']))}</td></tr>"
        for name, seen in now_["channels"].items()
    )
    hour = now_["last_hour"]
    families = "".join(
        f"<tr><td>{html.escape(name)}</td>"
        + "".join(f"<td>{kinds.get(kind, 0)}</td>" for kind in ("2xx", "3xx", "4xx", "5xx"))
        + "</tr>"
        for name, kinds in hour["families"].items()
    )
    problems = "".join(
        f"<li><b>{html.escape(p['name'])}</b> since {html.escape(ago(now, p['since']))}: "
        f"{html.escape(p['detail'])}</li>"
        for p in now_["problems"]
    )
    checked = (
        f"asked {html.escape(ago(now, now_['checked_at']))}"
        if now_["checked_at"]
        else "not asked yet (the scheduled job asks them every 10 minutes)"
    )
    return (
        f'<section id="now" data-healthy="{str(now_["healthy"]).lower()}"><h2>Right now: {verdict}</h2>'
        f"{f'<ul>{reasons}</ul>' if reasons else ''}"
        "<table><tr><th>channel</th><th>last message received</th><th>last answered</th></tr>"
        f"{rows}</table>"
        f'<p id="errors">5xx share of the last hour: <b>{hour["share"]:.1%}</b> ({hour["errors"]} of '
        f"{hour['requests']} answers; /health and unknown addresses not counted)</p>"
        "<table><tr><th>routes</th><th>2xx</th><th>3xx</th><th>4xx</th><th>5xx</th></tr>"
        f"{families or '<tr><td colspan=5>no requests in the last hour</td></tr>'}</table>"
        f"<h3>What the platforms report</h3><p>The platforms were {checked}.</p>"
        f'<ul id="problems">{problems or "<li>no problem</li>"}</ul></section>'
    )


def title(name: str) -> str:
    return registry.info(name).title if name in registry.NAMES else name
