"""A short class on one server: benchmarks/load_test.py with 10 websocket sessions for 12 s each.

Every session must get decoded images back while it drags the latent pad, and visit other pages,
with no error anywhere. No timing or memory figure is asserted: those depend on the machine, and
the full benchmark reports them (BENCHMARKS.md, "Issue 5: a class of 30").
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "load_test.py"
SESSIONS = 10


@pytest.mark.slow
def test_a_class_of_sessions_drags_and_switches_pages_without_errors(tmp_path):
    out_json = tmp_path / "load.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--sessions", str(SESSIONS), "--seconds", "12", "--page-every", "2",
         "--stagger", "0.05", "--session-ttl", "1", "--json", str(out_json)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for prefix in ("command:", "date:", "machine:", "errors:", "server decode round trip", "server RSS:", "result:"):
        assert any(line.startswith(prefix) for line in proc.stdout.splitlines()), f"no '{prefix}' line in\n{proc.stdout}"

    report = json.loads(out_json.read_text())
    assert report["errors"] == 0, report["error_messages"]
    assert len(report["per_session"]) == SESSIONS
    for n, session in enumerate(report["per_session"]):
        assert session["decoded"] > 0, f"session {n} got no decoded image back"
        assert session["releases"] > 0, f"session {n} never released a slider"
        assert set(session["pages"]) - {"Explore"}, f"session {n} never left the Explore page"
    # Between them the sessions saw every page of the app.
    assert {"Explore", "Latent map", "Reconstruct", "Train", "Learn"} <= set(report["app_pages"])
    assert set(report["pages_visited"]) == set(report["app_pages"])
    assert report["decode_ms"]["n"] == sum(s["decoded"] for s in report["per_session"])
    assert report["rss_mb"]["peak"] >= report["rss_mb"]["start"] > 0
