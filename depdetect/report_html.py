"""One self-contained HTML page for the predictions of any system (`depdetect predict ... --html report.html`).

Inline CSS only: no script, no external font, stylesheet or image, and a Content-Security-Policy that forbids
scripts and remote loads, so the page opens offline and nothing in it can run. Every piece of user text (posts,
turns, words, ids) is HTML-escaped, attribute values too.

Per record: the label and P(depression) (or the severity with its interval), and the explanation the system gives,
drawn by the system's `views.html_section`: the Hybrid's words highlighted by NAS (AWVTI in a second view), the dual
encoder's turns shaded by attention with a bar each, DORIS's symptoms with their evidence posts, the mood course, its
written explanation and an inline SVG timeline of the mood-course posts by date and dominant emotion. This module
holds the page and the helpers every section uses (`esc`, `number`, `shade`).

Standard library only.
"""

from __future__ import annotations

import html
import math

from . import systems

NOTICE = ("Research software, not a diagnostic tool. These predictions flag language that resembles texts written by "
          "people with depression; they do not diagnose anyone and must not drive decisions about a person's care. "
          "If you or someone you know is in crisis or thinking about suicide, contact local emergency services or a "
          "crisis helpline now.")
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


def number(value, digits: int = 3) -> str:
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
        parts.append(f"P(depression) = {number(row['probability'])}")
    if "severity" in row:
        parts.append(f"severity {number(row['severity'], 2)}")
        interval = row.get("interval")
        if interval:
            parts.append(f"(interval {number(interval[0], 2)} to {number(interval[1], 2)})")
    return "<p>" + " ".join(p for p in parts if p) + "</p>"


def shade(weight: float, top: float) -> str:
    """A red background whose strength is `weight` relative to `top` (0 to 0.8 opacity)."""
    alpha = 0.0 if top <= 0 else max(0.0, min(1.0, weight / top)) * 0.8
    return f"background-color:rgba(214,39,40,{alpha:.3f})"


def render_report(kind: str, rows: list[dict], records: list[dict] | None = None, model: str = "",
                  source: str = "") -> str:
    """The page for `rows` (the output rows of `depdetect predict` for a `kind` model) and, when given, the checked
    input `records` they came from (one each, same order: the interviews' turns are shown from them). Each record's
    explanation is drawn by the system's own `html_section` (its spec's `views` module)."""
    spec = systems.get(kind)
    section = spec.load("views").html_section
    if records is not None and len(records) != len(rows):
        raise ValueError(f"{len(rows)} predictions but {len(records)} records: pass one record per prediction.")
    sections = []
    for i, row in enumerate(rows):
        ids = " ".join(esc(row[k]) for k in ("id", "interview_id", "user_id") if row.get(k) is not None)
        sections.append(f'<section class="record"><h2>{esc(row.get("record", ""))} {ids}</h2>{_headline(row)}'
                        f"{section(row, None if records is None else records[i])}</section>")
    title = f"depdetect predictions: {len(rows)} {spec.units}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>"
            f'<p class="muted">Model: {esc(model)}; input: {esc(source)}.</p>'
            f'<p class="notice" id="notice"><strong>Notice.</strong> {esc(NOTICE)}</p>'
            + "".join(sections) + "</body></html>\n")
