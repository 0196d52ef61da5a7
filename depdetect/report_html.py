"""One self-contained HTML page for the predictions of any system (`depdetect predict ... --html report.html`).

Inline CSS only: no script, no external font, stylesheet or image, and a Content-Security-Policy that forbids
scripts and remote loads, so the page opens offline and nothing in it can run. Every piece of user text (posts,
turns, words, ids) is HTML-escaped, attribute values too.

Per record: the label and P(depression) (or the severity with its interval), and the explanation the system gives:
the Hybrid's words highlighted by NAS (AWVTI in a second view), the dual encoder's turns shaded by attention with a
bar each, DORIS's symptoms with their evidence posts, the mood course, its written explanation and an inline SVG
timeline of the mood-course posts by date and dominant emotion.

Standard library only.
"""

from __future__ import annotations

import html
import math
from datetime import datetime, timezone

NOTICE = ("Research software, not a diagnostic tool. These predictions flag language that resembles posts in "
          "depression forums; they do not diagnose anyone and must not drive decisions about a person's care.")
#: colours of the five emotions of DORIS's templates (Appendix C) in the timeline; others get grey
EMOTION_COLOURS = {"sadness": "#1f77b4", "anger": "#d62728", "fear": "#9467bd", "disgust": "#8c564b",
                   "happiness": "#2ca02c"}
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:60rem;color:#222;
line-height:1.5;padding:0 1rem}
.notice{border-left:4px solid #b58900;background:#fdf6e3;padding:.6rem .9rem;margin:1rem 0}
.record{border:1px solid #ddd;border-radius:6px;padding:.8rem 1rem;margin:1rem 0}
.record h2{font-size:1rem;margin:0 0 .4rem 0;color:#555;font-weight:600}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:4px;font-weight:600;margin-right:.5rem}
.badge.depression{background:#f8d7da;color:#842029}.badge.control{background:#d1e7dd;color:#0f5132}
.badge.other{background:#e2e3e5;color:#41464b}
.words span{padding:.05rem .1rem;border-radius:3px}
table{border-collapse:collapse;width:100%;font-size:.92rem}td,th{border-bottom:1px solid #eee;padding:.3rem;
text-align:left;vertical-align:top}.bar{height:.6rem;background:#d62728;border-radius:2px}
.muted{color:#666;font-size:.9rem}blockquote{margin:.3rem 0 .3rem 1rem;color:#333}
details{margin:.4rem 0}summary{cursor:pointer;color:#555}
"""


def esc(value) -> str:
    """HTML-escaped text (quotes too: safe inside double-quoted attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def _number(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else esc(value)


def _badge(row: dict) -> str:
    label = row.get("label")
    if label is None:
        return ""
    kind = label if label in ("depression", "control") else "other"
    return f'<span class="badge {kind}">{esc(label)}</span>'


def _headline(row: dict) -> str:
    parts = [_badge(row)]
    if "probability" in row:
        parts.append(f"P(depression) = {_number(row['probability'])}")
    if "severity" in row:
        parts.append(f"severity {_number(row['severity'], 2)}")
        interval = row.get("interval")
        if interval:
            parts.append(f"(interval {_number(interval[0], 2)} to {_number(interval[1], 2)})")
    return "<p>" + " ".join(p for p in parts if p) + "</p>"


def _shade(weight: float, top: float) -> str:
    """A red background whose strength is `weight` relative to `top` (0 to 0.8 opacity)."""
    alpha = 0.0 if top <= 0 else max(0.0, min(1.0, weight / top)) * 0.8
    return f"background-color:rgba(214,39,40,{alpha:.3f})"


def _words(tokens: list[dict], key: str) -> str:
    top = max([float(t.get(key) or 0.0) for t in tokens] + [0.0])
    spans = [f'<span style="{_shade(float(t.get(key) or 0.0), top)}" title="{esc(key.upper())} '
             f'{_number(float(t.get(key) or 0.0))}">{esc(t.get("token"))}</span>' for t in tokens]
    return '<p class="words">' + " ".join(spans) + "</p>"


def hybrid_section(row: dict, record: dict | None = None) -> str:
    tokens = row.get("tokens")
    if not tokens:
        return '<p class="muted">No explanation (predicted with --no_explain).</p>'
    note = ' <span class="muted">(the text was cut to the model\'s maximum length)</span>' if row.get(
        "truncated") else ""
    return (f'<p class="muted">Words shaded by NAS (normalised attention score: the share of the decision each word '
            f'carries){note}</p>' + _words(tokens, "nas")
            + "<details><summary>AWVTI view (attention-weighted value token importance)</summary>"
            + _words(tokens, "awvti") + "</details>")


def dual_encoder_section(row: dict, record: dict | None = None) -> str:
    turns = row.get("turns") or []
    given = (record or {}).get("turns") or []
    if given:  # predict's rows do not copy the interview's text: take it from the input record
        turns = [{**given[t["index"]], **t} if 0 <= t.get("index", -1) < len(given) else t for t in turns]
    if not turns:
        return '<p class="muted">No turns.</p>'
    top = max(float(t.get("attention") or 0.0) for t in turns)
    rows = []
    for t in turns:
        weight = float(t.get("attention") or 0.0)
        width = 0.0 if top <= 0 else 100.0 * weight / top
        rows.append(f'<tr style="{_shade(weight, top * 2.5)}"><td>{esc(t.get("index"))}</td><td>{esc(t.get("prompt"))}'
                    f'</td><td>{esc(t.get("response"))}</td><td>{_number(weight)}<div class="bar" '
                    f'style="width:{width:.1f}%"></div></td></tr>')
    return ('<p class="muted">Turns shaded by the attention the model gave them (it sums to 1 over the turns).</p>'
            "<table><tr><th>#</th><th>prompt</th><th>response</th><th>attention</th></tr>" + "".join(rows)
            + "</table>")


def _moment(value) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def mood_timeline(posts: list[dict], width: int = 640) -> str:
    """An inline SVG: one dot per mood-course post, by date (by order when any post is undated), in the lane of
    its dominant emotion."""
    if not posts:
        return '<p class="muted">No emotionally charged posts: no mood-course timeline.</p>'
    emotions = list(dict.fromkeys([*EMOTION_COLOURS, *(str(p.get("emotion")) for p in posts)]))
    times = [_moment(p.get("timestamp")) for p in posts]
    dated = all(t is not None for t in times)
    xs = [t.timestamp() for t in times] if dated else list(range(len(posts)))
    low, high = min(xs), max(xs)
    left, right, lane = 90, 20, 22
    height = lane * len(emotions) + 34

    def x(value):
        return left + (0.5 if high == low else (value - low) / (high - low)) * (width - left - right)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="mood-course timeline">']
    for i, emotion in enumerate(emotions):
        y = 14 + i * lane
        parts.append(f'<text x="4" y="{y + 4}" font-size="11" fill="#444">{esc(emotion)}</text>'
                     f'<line x1="{left}" x2="{width - right}" y1="{y}" y2="{y}" stroke="#eee"/>')
    for post, value, moment in zip(posts, xs, times):
        emotion = str(post.get("emotion"))
        y = 14 + emotions.index(emotion) * lane
        when = moment.date().isoformat() if moment else "time unknown"
        parts.append(f'<circle cx="{x(value):.1f}" cy="{y}" r="5" fill="{EMOTION_COLOURS.get(emotion, "#777")}" '
                     f'fill-opacity="0.8"><title>{esc(when)}: {esc(emotion)}</title></circle>')
    axis = (f"{min(times).date().isoformat()} to {max(times).date().isoformat()}" if dated
            else "posts in the order given (some are undated)")
    parts.append(f'<text x="{left}" y="{height - 6}" font-size="11" fill="#666">{esc(axis)}</text></svg>')
    return "".join(parts)


def doris_section(row: dict, record: dict | None = None) -> str:
    out = []
    symptoms = row.get("symptoms")
    if symptoms is None:
        return '<p class="muted">No explanation (predicted with --no_explain).</p>'
    if symptoms:
        items = []
        for s in symptoms:
            posts = "".join(f"<blockquote>{esc((p.get('timestamp') or 'time unknown')[:10])}: {esc(p.get('text'))}"
                            "</blockquote>" for p in s.get("posts", []))
            items.append(f"<li><strong>{esc(s.get('name'))}</strong> ({len(s.get('posts', []))} post(s)){posts}</li>")
        out.append("<h3>Symptoms found, with their evidence posts</h3><ul>" + "".join(items) + "</ul>")
    else:
        out.append('<p class="muted">No symptom was found in the annotated posts.</p>')
    out.append("<h3>Mood course</h3>" + mood_timeline(row.get("mood_posts") or [])
               + f"<p>{esc(row.get('mood_course'))}</p>")
    if row.get("explanation"):
        out.append(f"<h3>Explanation</h3><p>{esc(row['explanation'])}</p>")
    return "".join(out)


SECTIONS = {"hybrid": hybrid_section, "dual_encoder": dual_encoder_section, "doris": doris_section}
TITLES = {"hybrid": "texts", "dual_encoder": "interviews", "doris": "users"}


def render_report(kind: str, rows: list[dict], records: list[dict] | None = None, model: str = "",
                  source: str = "") -> str:
    """The page for `rows` (the output rows of `depdetect predict` for a `kind` model) and, when given, the checked
    input `records` they came from (one each, same order: the interviews' turns are shown from them)."""
    if kind not in SECTIONS:
        raise ValueError(f"No HTML report for system {kind!r}; one of {sorted(SECTIONS)}.")
    if records is not None and len(records) != len(rows):
        raise ValueError(f"{len(rows)} predictions but {len(records)} records: pass one record per prediction.")
    sections = []
    for i, row in enumerate(rows):
        ids = " ".join(esc(row[k]) for k in ("id", "interview_id", "user_id") if row.get(k) is not None)
        sections.append(f'<section class="record"><h2>{esc(row.get("record", ""))} {ids}</h2>{_headline(row)}'
                        f"{SECTIONS[kind](row, None if records is None else records[i])}</section>")
    title = f"depdetect predictions: {len(rows)} {TITLES[kind]}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>"
            f'<p class="muted">Model: {esc(model)}; input: {esc(source)}.</p>'
            f'<p class="notice" id="notice"><strong>Notice.</strong> {esc(NOTICE)}</p>'
            + "".join(sections) + "</body></html>\n")
