"""`depdetect predict ... --html`: one self-contained page per run, every piece of user text escaped, nothing that
can run or load from elsewhere."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from depdetect.cli import main
from depdetect.doris.views import mood_timeline
from depdetect.report_html import render_report

from .test_cli import TURNS, write_jsonl

HOSTILE = ['<script>alert("x")</script> I feel hopeless', 'Fine day" onmouseover="alert(1)" x="',
           "<img src=x onerror=alert(2)> tired & sad"]


class Page(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def assert_inert(page: Page) -> None:
    """No script, no event handler, nothing loaded from elsewhere; scripts forbidden by the page's own policy."""
    names = [tag for tag, _ in page.tags]
    assert "script" not in names and "img" not in names and "link" not in names and "iframe" not in names
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert "src" not in attrs and "href" not in attrs
    policy = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert policy and "default-src 'none'" in policy[0] and "script" not in policy[0]


def test_hybrid_report_highlights_every_word_and_escapes_hostile_text(models, tmp_path):
    source = write_jsonl(tmp_path / "texts.jsonl", [{"id": f"t{i}", "text": t} for i, t in enumerate(HOSTILE)])
    rows = main(["predict", str(models["hybrid"]), source, "-o", str(tmp_path / "out.jsonl"),
                 "--html", str(tmp_path / "report.html")])
    raw = (tmp_path / "report.html").read_text()
    page = Page(raw)
    assert_inert(page)
    assert "&lt;" in raw and "&quot;" in raw and "<script" not in raw.lower() and 'onmouseover="alert' not in raw
    spans = [a for t, a in page.tags if t == "span" and a.get("title", "").startswith("NAS")]
    assert len(spans) == sum(len(r["tokens"]) for r in rows)
    text = "".join(page.text)
    assert all(f"P(depression) = {r['probability']:.3f}" in text for r in rows)
    assert "not a diagnostic tool" in text


def test_interview_report_shades_turns_by_attention(models, tmp_path):
    turns = [*TURNS, {"prompt": "Anything else?", "response": '"><img src=x onerror=alert(1)>', "importance": -1}]
    source = write_jsonl(tmp_path / "interviews.jsonl", [{"interview_id": "p1", "turns": turns}])
    rows = main(["predict", str(models["dual_encoder"]), source, "-o", str(tmp_path / "out.jsonl"),
                 "--html", str(tmp_path / "report.html")])
    page = Page((tmp_path / "report.html").read_text())
    assert_inert(page)
    bars = [a["style"] for t, a in page.tags if t == "div" and a.get("class") == "bar"]
    assert len(bars) == len(turns) == len(rows[0]["turns"])
    top = max(t["attention"] for t in rows[0]["turns"])
    widest = [t["attention"] == top for t in rows[0]["turns"]].index(True)
    assert bars[widest] == "width:100.0%"
    assert '"><img src=x onerror=alert(1)>' in "".join(page.text)  # shown as text, not as markup


def test_doris_report_shows_symptoms_mood_course_and_a_timeline(models, cohort, tmp_path):
    users = cohort["test"].to_list()[:3]
    users[0]["posts"][0]["text"] = HOSTILE[0]
    source = tmp_path / "users.jsonl"
    source.write_text("".join(json.dumps(u) + "\n" for u in users))
    rows = main(["predict", str(models["doris"]), str(source), "-o", str(tmp_path / "out.jsonl"),
                 "--html", str(tmp_path / "report.html")])
    page = Page((tmp_path / "report.html").read_text())
    assert_inert(page)
    circles = [t for t, _ in page.tags if t == "circle"]
    assert len(circles) == sum(len(r["mood_posts"]) for r in rows)
    assert sum(t == "svg" for t, _ in page.tags) == sum(1 for r in rows if r["mood_posts"])
    text = "".join(page.text)
    for row in rows:
        assert row["explanation"] in text and row["mood_course"] in text
        for symptom in row["symptoms"]:
            assert symptom["name"] in text


def test_timelines_of_undated_posts_follow_the_given_order():
    svg = mood_timeline([{"timestamp": None, "emotion": "sadness"}, {"timestamp": "2020-01-01", "emotion": "fear"}])
    assert "order given" in svg and svg.count("<circle") == 2
    assert "No emotionally charged posts" in mood_timeline([])
    assert "<svg" not in render_report("doris", [{"record": "r", "label": "control", "probability": 0.1}])


def test_the_notice_points_to_crisis_help_and_speaks_of_any_text():
    """Beside "not a diagnostic tool", what mental-health demos show: where to turn in a crisis (issue 23, finding
    17); the notice serves interviews and users too, so it does not speak of forum posts only."""
    from depdetect.report_html import NOTICE

    assert "not a diagnostic tool" in NOTICE and "emergency services" in NOTICE and "crisis helpline" in NOTICE
    assert "forums" not in NOTICE
