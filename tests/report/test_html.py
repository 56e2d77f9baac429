"""The HTML report as text: self-contained, escaped, and built only from the result."""

from __future__ import annotations

import re
from pathlib import Path

from keydrift import run_check
from keydrift.model.findings import Finding, RuleInfo, Severity
from keydrift.model.result import CheckResult, GridCell, Marker, SecretGroup
from keydrift.model.types import Location, Skipped, Step
from keydrift.report.html import key_colour
from keydrift.report.interface import render

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EVIL = "</script><script>alert(1)</script>\"'><img src=x onerror=alert(2)>"


def test_report_loads_nothing_from_anywhere() -> None:
    html = render(run_check([str(EXAMPLES / "incident-staging-placeholder")]), "html")
    assert not re.search(r"<(script|img|iframe|link|object|embed)\b[^>]*\b(src|href)=", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html  # the CSP forbids every fetch
    # The only absolute URLs are the rules' documentation links.
    urls = set(re.findall(r"https?://[^\"'<> ]+", html))
    assert urls and all(u.startswith("https://github.com/keydrift/keydrift/blob/main/docs/rules/")
                        for u in urls)


def test_every_repository_string_is_escaped() -> None:
    step = Step(Location(f"{EVIL}.env", 3), f"note {EVIL}")
    cell = GridCell(service=EVIL, environment=EVIL, marker=Marker.OK, key="A", label="abcdefabcdef",
                    variable=EVIL, steps=(step,), findings=())
    group = SecretGroup(unit=EVIL, label=EVIL, kind="spec", environments=(EVIL,),
                        services=(EVIL,), cells=(cell,))
    finding = Finding(rule="KD201", severity=Severity.ERROR, environments=(EVIL,),
                      services=(EVIL,), locations=(Location(EVIL, 1),), message=EVIL,
                      runtime_effect=EVIL, fix=EVIL, variable=EVIL, steps=(step,), unit=EVIL)
    rule = RuleInfo("KD201", "services-disagree", "t", Severity.ERROR, "d")
    result = CheckResult(root=EVIL, findings=[finding], rules=[rule], groups=[group],
                         skipped=[Skipped(Location(EVIL), EVIL)], environments=[EVIL])
    html = render(result, "html")
    assert EVIL not in html
    assert "<img" not in html and "<script>alert" not in html
    assert html.count("<script>") == 1  # the report's own
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_key_colours_differ_between_neighbouring_letters() -> None:
    colours = [key_colour(k) for k in ("A", "B", "C", "D", "Z", "AA")]
    assert len(set(colours)) == len(colours)
    assert all(re.fullmatch(r"hsl\(\d+, 70%, 82%\)", c) for c in colours)


def test_json_carries_the_same_grid_and_validates() -> None:
    import json

    import jsonschema

    schema = json.loads((EXAMPLES.parent / "docs" / "schema" / "check-output-v1.json").read_text())
    result = run_check([str(EXAMPLES / "incident-staging-placeholder")])
    doc = json.loads(render(result, "json"))
    jsonschema.Draft202012Validator(schema).validate(doc)
    cells = [(g["unit"].split(":")[0], c["service"], c["key"], c["marker"])
             for g in doc["groups"] for c in g["cells"]]
    assert cells == [("compose", "auth", "A", "ok"), ("compose", "backend", "A", "ok"),
                     ("script", "backend", "B", "placeholder")]
    ids = {f["id"] for f in doc["findings"]}
    assert all(set(c["findings"]) <= ids for g in doc["groups"] for c in g["cells"])
