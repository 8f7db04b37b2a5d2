"""Each benchmark script runs end to end in --quick mode and reports in the documented format.

No timing is asserted: the CI machine's speed decides PASS or FAIL, not the code under test.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

# script -> the JSON key holding its headline number
SCRIPTS = {"train_throughput.py": "ratio", "decode_latency.py": "median_ms", "encode_speed.py": "median_s",
           "device_throughput.py": "cpu_images_per_s"}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_quick_run_prints_header_table_and_verdict(script, tmp_path):
    out_json = tmp_path / "result.json"
    # cwd is not the repo: the scripts must find vae_core and their data on their own.
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick", "--json", str(out_json)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for prefix in ("command:", "date:", "machine:"):
        assert any(line.startswith(prefix) for line in lines), f"{script}: no '{prefix}' line in\n{proc.stdout}"
    machine = next(line for line in lines if line.startswith("machine:"))
    assert "cores" in machine and "torch" in machine and "threads" in machine
    assert re.search(r"^result: .*: (PASS|FAIL)$", proc.stdout, re.MULTILINE), proc.stdout

    report = json.loads(out_json.read_text())
    assert report["benchmark"] == script.removesuffix(".py")
    assert isinstance(report["passed"], bool)
    assert report[SCRIPTS[script]] > 0
    assert report["machine"]["torch_threads"] >= 1
    # The printed verdict and the JSON agree.
    assert ("PASS" if report["passed"] else "FAIL") in lines[-1]
