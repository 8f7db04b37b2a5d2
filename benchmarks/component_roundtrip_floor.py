"""The floor under any server-decoded update: a bare components.v2 element in a bare fragment.

The browser sets a state value, the fragment reruns and sends the value back in the component's
data; the page records the time from setStateValue to the re-render. Nothing is decoded. This is
the peer for the latent pad's server path (benchmarks/latent_pad_latency.py): what Streamlit's
rerun round trip alone costs on this machine, measured the same way.

    python3 benchmarks/component_roundtrip_floor.py [--n 60]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.app_server import CHROMIUM, CHROMIUM_FLAGS, start_app, stop_app  # noqa: E402
from benchmarks.machine import machine_info, print_header  # noqa: E402

PROBE_APP = textwrap.dedent('''
    import streamlit as st

    probe = st.components.v2.component("roundtrip_probe", html="<div class='probe'>-</div>", js="""
    export default function({data, setStateValue, parentElement}) {
      const rt = window.__rt = window.__rt || {sent: {}, times: []};
      if (data && data.seq != null && rt.sent[data.seq] !== undefined) {
        rt.times.push(performance.now() - rt.sent[data.seq]);
        delete rt.sent[data.seq];
      }
      parentElement.querySelector('.probe').textContent = 'seq ' + (data ? data.seq : '-');
      window.__rtSend = (n) => { rt.sent[n] = performance.now(); setStateValue('v', n); };
    }
    """)


    @st.fragment
    def echo():
        state = st.session_state.get("probe")
        probe(key="probe", data={"seq": state.get("v") if state else None}, on_v_change=lambda: None)


    echo()
''')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=60)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print_header("Round-trip floor: setStateValue -> fragment rerun -> component re-render (no decoding)", machine_info())
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "probe_app.py"
        app.write_text(PROBE_APP)
        server, url = start_app(app, timeout_s=60)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                page = browser.new_page()
                page.goto(url)
                page.wait_for_function("() => window.__rtSend !== undefined", timeout=30_000)
                for n in range(1, args.n + 1):
                    page.evaluate(f"window.__rtSend({n})")
                    page.wait_for_function(f"() => window.__rt.times.length >= {n}", timeout=10_000)
                times = sorted(page.evaluate("window.__rt.times"))
                browser.close()
        finally:
            stop_app(server)
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    print(f"n={len(times)}  p50 {statistics.median(times):.1f} ms  p95 {p95:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
