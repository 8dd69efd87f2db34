"""The owner's dashboard: who may see it, and the page itself (HTML with inline SVG charts).

Everything is served by the app: no script, no font, no stylesheet from
anywhere else (the page's Content-Security-Policy forbids them). The owner
signs in with ``ADMIN_TOKEN`` once; the browser then holds a cookie made
from it (an HMAC, not the token), or a script sends ``Authorization: Bearer``.
Without ``ADMIN_TOKEN`` the dashboard is off everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import html
from collections.abc import Mapping

COOKIE = "mentor_admin"
COOKIE_MAX_AGE = 8 * 3600
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d1d1f}"
    "header{background:#1f3b57;color:#fff;padding:.8rem 1.5rem}header a{color:#cfe3ff;margin-left:.8rem}"
    "main{padding:1rem 1.5rem;max-width:72rem}section{background:#fff;border-radius:8px;padding:1rem;margin:1rem 0}"
    ".tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.6rem}"
    ".tile{background:#fff;border-radius:8px;padding:.7rem}.tile b{display:block;font-size:1.6rem}"
    "table{border-collapse:collapse}td,th{padding:.25rem .8rem;text-align:left;border-bottom:1px solid #eee}"
    "svg text{font-size:11px;fill:#555}.bar{fill:#3b7dd8}.bar2{fill:#2a9d8f}"
)


MAX_UNTIL_DIGITS = 12  # a time in seconds, far beyond any cookie's


def session_value(token: str, expires: float) -> str:
    """What the sign-in cookie holds: when it expires, signed with the token (HMAC-SHA256). It never
    carries the token, the server refuses it after ``expires``, and a new ADMIN_TOKEN voids it."""
    until = str(int(expires))
    return f"{until}.{hmac.new(token.encode(), f'mentor admin session {until}'.encode(), hashlib.sha256).hexdigest()}"


def session_ok(token: str, value: str, now: float) -> bool:
    if not session_checked(value, now):
        return False
    return hmac.compare_digest(value.encode(), session_value(token, int(value.partition(".")[0])).encode())


def session_checked(value: str, now: float) -> bool:
    """Whether a sign-in cookie would have its signature checked (it names a time not past yet): one
    that does is a guess at the token unless it is right, and is counted like a typed one."""
    until = value.partition(".")[0]
    # ASCII digits, and few: "²".isdigit() is true, and int() refuses more than 4,300 digits.
    return until.isascii() and until.isdigit() and len(until) <= MAX_UNTIL_DIGITS and now < int(until)


def allowed(token: str, headers: Mapping[str, str], cookies: Mapping[str, str], now: float) -> bool:
    """A bearer token equal to ADMIN_TOKEN, or an unexpired sign-in cookie made with it (both compared in
    constant time)."""
    if not token:
        return False
    bearer = headers.get("Authorization", "")
    if bearer.startswith("Bearer ") and hmac.compare_digest(bearer[7:].strip().encode(), token.encode()):
        return True
    return session_ok(token, cookies.get(COOKIE, ""), now)


def refusal(token: str, headers: Mapping[str, str], cookies: Mapping[str, str], wrong: bool = False, now: float = 0):
    """None when the request may see the dashboard; else (status, page): 404 when it is off, 401 to sign in."""
    if not token:
        return 404, page("Off", "<main><section><p>The dashboard is off: set ADMIN_TOKEN.</p></section></main>")
    if not wrong and allowed(token, headers, cookies, now):
        return None
    return 401, sign_in_page(wrong)


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def sign_in_page(wrong: bool, held: int = 0) -> str:
    note = '<p role="alert">That is not the admin token.</p>' if wrong else ""
    if held:
        note = f'<p role="alert">Too many wrong tokens: try again in {held} seconds.</p>'
    return page(
        "Sign in",
        '<main><section><h1>Mentor dashboard</h1><form method="post" action="/admin">'
        '<label for="token">Admin token (ADMIN_TOKEN)</label><br>'
        '<input id="token" name="token" type="password" autocomplete="current-password" required autofocus> '
        f'<button type="submit">Sign in</button></form>{note}</section></main>',
    )


def bars(series: dict[str, int], label: str, css: str = "bar") -> str:
    """A bar chart of one value per day, as inline SVG; each bar carries its date and value as a tooltip."""
    width, height, gap = 720, 110, 2
    values = list(series.values())
    top = max(values + [1])
    step = width / max(len(values), 1)
    shapes = []
    for n, (date, value) in enumerate(series.items()):
        tall = round(value / top * (height - 20), 1)
        x, y = round(n * step, 1), round(height - tall, 1)
        shapes.append(
            f'<rect class="{css}" x="{x}" y="{y}" width="{max(step - gap, 1):.1f}" height="{tall}" '
            f'data-date="{date}" data-value="{value}"><title>{date}: {value}</title></rect>'
        )
    first, last = (next(iter(series)), list(series)[-1]) if series else ("", "")
    return (
        f'<svg role="img" aria-label="{html.escape(label)}" viewBox="0 -14 {width} {height + 30}" width="100%">'
        f'<text x="0" y="-2">max {top}</text>{"".join(shapes)}'
        f'<text x="0" y="{height + 14}">{first}</text><text x="{width - 70}" y="{height + 14}">{last}</text></svg>'
    )


def funnel_bars(funnel: dict[str, int]) -> str:
    names = {
        "people": "wrote to the bot",
        "started_a_skill": "started a skill (level and hours set)",
        "did_an_assignment": "did an assignment",
        "finished_a_skill": "finished a skill",
    }
    top = max(list(funnel.values()) + [1])
    rows = []
    for n, (key, value) in enumerate(funnel.items()):
        wide = round(value / top * 460, 1)
        rows.append(
            f'<rect class="bar2" x="170" y="{n * 30}" width="{wide}" height="22" data-step="{key}" '
            f'data-value="{value}"><title>{names.get(key, key)}: {value}</title></rect>'
            f'<text x="0" y="{n * 30 + 15}">{names.get(key, key)}</text>'
            f'<text x="{178 + wide}" y="{n * 30 + 15}">{value}</text>'
        )
    return (
        f'<svg role="img" aria-label="funnel" viewBox="0 0 720 {len(funnel) * 30}" width="100%">{"".join(rows)}</svg>'
    )


def duration(seconds: float) -> str:
    """A wait as people say it: 40 s, 12 min, 3.5 h."""
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def tile(label: str, value) -> str:
    return f'<div class="tile" data-name="{html.escape(label)}"><b>{value}</b>{html.escape(label)}</div>'


COUNTED = (
    "new_users",
    "messages",
    "fallbacks",
    "assignments_done",
    "skills_started",
    "skills_finished",
    "reminders_sent",
    "reminders_held",
    "reminders_refused",
    "announcements_sent",
    "handoffs_opened",
    "handoffs_closed",
)


def dashboard(stats: dict, now: str = "", handoffs: str = "") -> str:
    """The dashboard for ``stats`` (stats.collect's dict); ``now``, its first screen: whether the bot is
    healthy right now (status.section's HTML); ``handoffs``, who waits for a person (inbox.section's)."""
    users, active = stats["users"], stats["active"]
    tiles = [tile(f"people on {channel}", count) for channel, count in users.items()]
    for days, n in active.items():
        tiles.append(tile("active today (24 h)" if days == "1" else f"active in the last {days} days", n))
    for name in COUNTED:
        tiles.append(tile(name.replace("_", " "), stats[name]))
    wait = stats.get("handoff_first_answer_seconds")
    tiles.append(tile("time to a person's first answer", "–" if wait is None else duration(wait)))
    unmatched = "".join(
        f"<tr><td>{html.escape(row['text'])}</td><td>{row['people']}</td></tr>" for row in stats["unmatched"]
    )
    period = stats["period"]
    choose = "".join(f'<a href="/admin?days={n}">{n} days</a>' for n in (7, 30, 60))
    return page(
        "Mentor dashboard",
        f"<header><b>Mentor dashboard</b> · {period['from']} to {period['to']} (UTC){choose}"
        '<a href="/admin/stats.json">JSON</a><a href="/admin/health.json">health</a></header><main>'
        f'{now}{handoffs}<div class="tiles">{"".join(tiles)}</div>'
        f'<section id="messages"><h2>Messages per day</h2>'
        f"{bars(stats['messages_per_day'], 'messages per day')}</section>"
        f'<section id="new-people"><h2>New people per day</h2>'
        f"{bars(stats['new_users_per_day'], 'new people per day', 'bar2')}</section>"
        f'<section id="funnel"><h2>From first message to a finished skill</h2>{funnel_bars(stats["funnel"])}</section>'
        '<section id="unmatched"><h2>What the bot did not understand</h2>'
        "<p>Normalised (lower case, numbers and links masked), without who said it; add the common ones to "
        "skills.json.</p><table><tr><th>phrasing</th><th>people</th></tr>"
        f"{unmatched or '<tr><td colspan=2>nothing yet</td></tr>'}</table></section></main>",
    )
