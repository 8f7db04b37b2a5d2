"""Load: a class of students on one `streamlit run explorer/app.py` server, each dragging the latent pad.

Targets (issue 5), with 30 sessions on the 2-core machine: 0 errors; p95 of the server decode round
trip ≤ 250 ms; server RSS growth ≤ 30 MB per session, and given back when the sessions end.

Each session is a Python websocket client (benchmarks/streamlit_session.py), not a browser: in a
class every student's browser runs on their own laptop, and 30 Chromium pages here would take the
CPU the server needs. A session speaks the protocol Chromium speaks (recorded from its websocket
frames with Playwright, `page.on("websocket")` + `ws.on("framesent")`, decoded with
BackMsg.FromString, while dragging the pad on vae-conv-10d-shapes): a drag step is a rerun_script
BackMsg for the pad's fragment carrying the component state
  {"z": {"values": [d floats], "seq": n, "final": false}}
under the widget id of the component keyed "explore_pad"; releasing the slider sends "final": true,
which reruns the whole page. Like the pad, a session keeps one message in flight and waits for its
answer (the pad never resends on a timer; --resend-after N sends again after N s, which showed
why: on a busy server resent releases rerun the whole page again and again), and sends the next z in the
animation frame after the answer (a random 0–16.7 ms later); it drags for 1–3 s, releases, pauses
0.5–2 s, and every ~10–20 s switches to another page (a rerun with that page's script hash),
stays there 2–5 s and comes back; between them the sessions visit every page. All sessions open the
app first (0.1 s apart; opening times are reported), then work together for --seconds.

Decode round trip: from sending the drag step (its first send) to the server's script_finished for
the fragment run that answered it, counted only when the pad's data in that run acknowledges the
step (ack == seq) and carries the server's image for it. Errors: an exception element, an st.error
alert, a closed socket, a timeout, or an answer without the step's image.

Memory: VmRSS of the server process, at start (after one warm-up session that visits every page),
the peak while the class works, and after every session has disconnected and Streamlit has dropped
their state (it keeps a disconnected session for server.disconnectedSessionTTL seconds, 120 by
default, so a reconnecting laptop gets its page back; the server here runs with --session-ttl).

    python3 benchmarks/load_test.py [--sessions 30] [--seconds 60] [--model vae-conv-10d-shapes] [--json FILE]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

from benchmarks.app_server import start_app  # noqa: E402
from benchmarks.machine import machine_info, print_header  # noqa: E402
from benchmarks.streamlit_session import SessionClosed, StreamlitSession  # noqa: E402

P95_TARGET_MS = 250.0
GROWTH_TARGET_MB = 30.0
# "Given back": after the sessions end, at least this share of the growth has left the process.
RELEASED_TARGET = 0.5
PAD_KEY = "explore_pad"
PICKER_KEY = "sidebar_model_picker"
SERVER_DECODE_KEY = "explore_pad_server_decode"
HOME_PAGE = "Explore"
FRAME_S = 1 / 60
STALE_S = 3.0  # the pad sends z again when a message has had no answer this long (STALE_MS in latent_pad.js)
DECODE_TIMEOUT_S = 30.0
PAGE_TIMEOUT_S = 120.0
MB = 2**20


# ---- the server -------------------------------------------------------------------------------

def start_server(runs_dir: str, session_ttl: float, log_path: Path,
                 malloc_arenas: int | None = None) -> tuple[subprocess.Popen, str]:
    env = {"VAE_RUNS_DIR": runs_dir}
    if malloc_arenas:
        # glibc gives each thread that allocates its own arena, up to 8 per core, and Streamlit starts a
        # fresh thread for nearly every script run: the arenas fragment, and freed memory is seldom returned.
        env["MALLOC_ARENA_MAX"] = str(malloc_arenas)
    # No reloading when a file under the app changes: a hosted class wants none, and here other work
    # may edit the repository meanwhile (a reload under 30 sessions races imports).
    args = ("--server.disconnectedSessionTTL", f"{session_ttl:g}", "--server.fileWatcherType", "none")
    with open(log_path, "w") as log:
        return start_app(env=env, args=args, log=log)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MemoryWatch:
    """Samples the server's RSS every 0.2 s while the class works; keeps the peak."""

    def __init__(self, pid: int):
        self.pid, self.peak_mb, self._task = pid, 0.0, None

    async def _sample(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, rss_mb(self.pid))
            await asyncio.sleep(0.2)

    def __enter__(self):
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *exc):
        self._task.cancel()
        self.peak_mb = max(self.peak_mb, rss_mb(self.pid))


# ---- one student ------------------------------------------------------------------------------

@dataclass
class StudentReport:
    open_ms: list[float] = field(default_factory=list)
    decode_ms: list[float] = field(default_factory=list)
    release_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    resends: int = 0  # pad messages sent again after --resend-after seconds without an answer
    errors: list[str] = field(default_factory=list)


class Student:
    """One session that drags the pad on `model` and now and then visits another page."""

    def __init__(self, url: str, model: str, rng: random.Random, page_every_s: float, first_page: int = 0,
                 resend_after_s: float = STALE_S):
        self.session = StreamlitSession(url)
        self.model, self.rng, self.page_every_s, self.resend_after_s = model, rng, page_every_s, resend_after_s
        self.report = StudentReport()
        self.chosen: list[WidgetState] = []  # widget values this student set (sent with every rerun, as a tab does)
        self.seq = 0
        self.z: list[float] = []
        self.next_page = first_page

    @property
    def pad(self) -> dict:
        return self.session.components[PAD_KEY]

    def _page(self, name: str):
        return next(p for p in self.session.pages if p.name == name)

    async def _full_run(self, widgets: list[WidgetState] = (), page_hash: str | None = None) -> float:
        result = await self.session.rerun(widgets=list(widgets), page_hash=page_hash, timeout=PAGE_TIMEOUT_S)
        return result.seconds * 1000

    async def close(self) -> None:
        """Close the session; what the server drew as errors joins the report."""
        await self.session.close()
        self.report.errors = self.session.errors + self.report.errors

    def _choose(self, key: str, **value) -> WidgetState:
        state = WidgetState(id=self.session.widgets[key].id, **value)
        self.chosen = [s for s in self.chosen if s.id != state.id] + [state]
        return state

    async def open(self) -> None:
        """Open the app, pick the model, and make the pad decode on the server."""
        await self.session.open()
        await self._full_run()
        if not self.pad["data"]["model_key"].split("@")[0].endswith("/" + self.model):
            picker = self.session.widgets[PICKER_KEY]
            label = next((o for o in picker.options if o.split(" · ")[0] == self.model), None)
            if label is None:
                raise ValueError(f"model {self.model!r} is not in the picker: {list(picker.options)}")
            self._choose(PICKER_KEY, string_value=label)
            await self._full_run(self.chosen)
        await self._server_mode()

    async def _server_mode(self) -> None:
        # An MLP decodes in the browser unless its "decode on the server" toggle is on (the toggle's
        # value is forgotten when another page is shown, as for a real tab).
        if self.pad["data"]["mode"] != "server":
            self._choose(SERVER_DECODE_KEY, bool_value=True)
            await self._full_run(self.chosen)
        data = self.pad["data"]
        self.z = [float(v) for v in data["z"]]
        self.seq = max(self.seq, int(data["ack"]))

    async def _send_z(self, final: bool, timeout: float) -> float | None:
        """Send z as the pad does and wait for its answer: ms from the first send to the end of the answering
        run, or None (and an error) when the answer lacks this z's image.

        The answer is the pad's data acknowledging the latest seq; the run that carried it ends with the
        next script_finished. Like the pad, a message unanswered for resend_after_s goes again under a new
        seq (0: never).
        """
        start = time.perf_counter()
        while True:
            self.seq += 1
            seq, message = self.seq, {"z": {"values": self.z, "seq": self.seq, "final": final}}
            state = WidgetState(id=self.pad["id"], json_value=json.dumps(message))
            await self.session.send_rerun(widgets=[*self.chosen, state], fragment_id=self.pad["fragment_id"])
            wait = self.resend_after_s or timeout
            if await self.session.wait_until(lambda: self.pad["data"]["ack"] >= seq, wait):
                break
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"pad message {seq}: no answer within {timeout:g} s")
            self.report.resends += 1
        answered = self.pad  # the component's data and how many runs had finished before it came
        if not await self.session.wait_until(lambda: self.session.runs_finished > answered["finished_before"],
                                             timeout):
            raise TimeoutError(f"pad message {seq}: its run did not finish within {timeout:g} s")
        image = answered["data"].get("image") or {}
        if answered["data"]["ack"] != seq or image.get("seq") != seq:
            self.report.errors.append(f"pad message {seq}: the answer carried ack {answered['data']['ack']}, "
                                      f"image for {image.get('seq')}")
            return None
        return (time.perf_counter() - start) * 1000

    async def drag(self, seconds: float, deadline: float) -> None:
        dims = self.pad["data"]["dims"]
        dim = self.rng.choice(dims)
        end = min(time.perf_counter() + seconds, deadline)
        while time.perf_counter() < end:
            self.z[dim] = round(min(3.0, max(-3.0, self.z[dim] + self.rng.uniform(-0.15, 0.15))), 2)
            if (ms := await self._send_z(final=False, timeout=DECODE_TIMEOUT_S)) is not None:
                self.report.decode_ms.append(ms)
            await asyncio.sleep(self.rng.uniform(0, FRAME_S))  # the next animation frame sends the next z

    async def release(self) -> None:
        """Let go of the slider: the pad sends z marked final, and the whole page reruns."""
        if (ms := await self._send_z(final=True, timeout=PAGE_TIMEOUT_S)) is not None:
            self.report.release_ms.append(ms)

    async def visit_another_page(self, dwell_s: float) -> None:
        others = [p for p in self.session.pages if p.name != HOME_PAGE]
        page = others[self.next_page % len(others)]
        self.next_page += 1
        self.chosen = []  # a tab sends no widget values with a page switch
        self.report.page_ms.append(await self._full_run(page_hash=page.script_hash))
        self.report.pages.append(page.name)
        await asyncio.sleep(dwell_s)
        self.report.page_ms.append(await self._full_run(page_hash=self._page(HOME_PAGE).script_hash))
        self.report.pages.append(HOME_PAGE)
        await self._server_mode()

    async def open_app(self) -> bool:
        """Open the app ready to drag; False (and an error in the report) when that failed."""
        start = time.perf_counter()
        try:
            await self.open()
        except (SessionClosed, TimeoutError, OSError, KeyError, ValueError) as e:
            self.report.errors.append(f"opening the app: {type(e).__name__}: {e}")
            await self.close()
            return False
        self.report.open_ms.append((time.perf_counter() - start) * 1000)
        return True

    async def work(self, seconds: float) -> StudentReport:
        """Drag and switch pages for `seconds`, then close; every failure becomes an error in the report."""
        deadline = time.perf_counter() + seconds
        try:
            next_switch = time.perf_counter() + self.rng.uniform(0.67, 1.33) * self.page_every_s
            while time.perf_counter() < deadline:
                if time.perf_counter() >= next_switch:
                    await self.visit_another_page(dwell_s=self.rng.uniform(2, 5) * min(1.0, self.page_every_s / 15))
                    next_switch = time.perf_counter() + self.rng.uniform(0.67, 1.33) * self.page_every_s
                    continue
                await self.drag(self.rng.uniform(1, 3), deadline)
                await self.release()
                await asyncio.sleep(self.rng.uniform(0.5, 2.0))
        except (SessionClosed, TimeoutError, OSError, KeyError, ValueError) as e:
            self.report.errors.append(f"{type(e).__name__}: {e}")
        finally:
            await self.close()
        return self.report


# ---- the class --------------------------------------------------------------------------------

async def warm_up(url: str, model: str) -> list[str]:
    """One session that loads what the class will share: the model, its dataset, every page; the pages' names."""
    student = Student(url, model, random.Random(0), page_every_s=15)
    await student.open()
    await student.drag(0.5, time.perf_counter() + 0.5)
    await student.release()
    for _ in range(len(student.session.pages) - 1):
        await student.visit_another_page(dwell_s=0)
    await student.close()
    if student.report.errors:
        raise RuntimeError(f"the warm-up session failed: {student.report.errors[:3]}")
    return [p.name for p in student.session.pages]


async def run_class(url: str, pid: int, args) -> dict:
    app_pages = await warm_up(url, args.model)
    await asyncio.sleep(2)
    start_mb = rss_mb(pid)
    students = [Student(url, args.model, random.Random(1000 + i), args.page_every, first_page=i,
                        resend_after_s=args.resend_after) for i in range(args.sessions)]
    with MemoryWatch(pid) as watch:
        async def staggered_open(i: int, student: Student) -> bool:
            await asyncio.sleep(i * args.stagger)  # a class does not click at the very same millisecond
            return await student.open_app()

        # Everyone opens the app first; then the class works together, so every drag step measured
        # meets all the other sessions working.
        opened = await asyncio.gather(*(staggered_open(i, s) for i, s in enumerate(students)))
        cpu_before, client_before, wall_before = cpu_seconds(pid), time.process_time(), time.perf_counter()
        await asyncio.gather(*(s.work(args.seconds) for s, ok in zip(students, opened) if ok))
        reports = [s.report for s in students]
    wall = time.perf_counter() - wall_before
    server_cpu, client_cpu = cpu_seconds(pid) - cpu_before, time.process_time() - client_before
    closed_mb = rss_mb(pid)
    # Streamlit drops a disconnected session's state once its TTL has passed, when the session store
    # is next written: one short session after the TTL does that, as the next student to connect would.
    await asyncio.sleep(args.session_ttl + 1)
    probe = StreamlitSession(url)
    await probe.open()
    await probe.rerun(timeout=PAGE_TIMEOUT_S)
    await probe.close()
    await asyncio.sleep(3)
    after_mb = rss_mb(pid)
    rss = {"start": start_mb, "peak": watch.peak_mb, "sessions_closed": closed_mb, "after": after_mb}
    return {"reports": reports, "app_pages": app_pages, "rss_mb": rss,
            "server_cpu_s": server_cpu, "client_cpu_s": client_cpu, "wall_s": wall}


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    return {"n": len(values), "p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)),
            "max": float(max(values))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60, help="how long each session works")
    parser.add_argument("--model", default="vae-conv-10d-shapes",
                        help="a shipped model; an MLP gets its 'decode on the server' toggle switched on")
    parser.add_argument("--page-every", type=float, default=15,
                        help="mean seconds between page switches per session (uniform within ±33%%)")
    parser.add_argument("--stagger", type=float, default=0.1, help="seconds between two sessions' starts")
    parser.add_argument("--session-ttl", type=float, default=10,
                        help="the server's server.disconnectedSessionTTL, seconds (Streamlit's default is 120)")
    parser.add_argument("--resend-after", type=float, default=0,
                        help="seconds before an unanswered pad message goes again (0: never, as latent_pad.js)")
    parser.add_argument("--malloc-arenas", type=int, help="run the server with MALLOC_ARENA_MAX set to this")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    print_header(f"Load: {args.sessions} sessions dragging the latent pad on {args.model} for {args.seconds:g} s, "
                 "one streamlit server", machine_info())
    with tempfile.TemporaryDirectory() as runs_dir:
        log_path = Path(runs_dir) / "server.log"
        server, url = start_server(runs_dir, args.session_ttl, log_path, args.malloc_arenas)
        try:
            figures = asyncio.run(run_class(url, server.pid, args))
        except Exception:
            print(f"server log:\n{log_path.read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()

    reports: list[StudentReport] = figures["reports"]
    errors = [e for r in reports for e in r.errors]
    decode = percentiles([ms for r in reports for ms in r.decode_ms])
    opening = percentiles([ms for r in reports for ms in r.open_ms])
    release = percentiles([ms for r in reports for ms in r.release_ms])
    page = percentiles([ms for r in reports for ms in r.page_ms])
    rss = figures["rss_mb"]
    growth = (rss["peak"] - rss["start"]) / args.sessions
    released = (rss["peak"] - rss["after"]) / (rss["peak"] - rss["start"]) if rss["peak"] > rss["start"] else 1.0
    pages_seen = sorted({p for r in reports for p in r.pages})
    verdicts = {"errors": not errors, "p95": decode["n"] > 0 and decode["p95"] <= P95_TARGET_MS,
                "growth": growth <= GROWTH_TARGET_MB, "released": released >= RELEASED_TARGET}

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    print(f"sessions: {args.sessions}, working together for {args.seconds:g} s ({figures['wall_s']:.1f} s with closing); "
          f"decoded answers per session: min {min(len(r.decode_ms) for r in reports)}, "
          f"max {max(len(r.decode_ms) for r in reports)}; pages visited: {', '.join(pages_seen) or 'none'}; "
          + (f"pad messages sent again after {args.resend_after:g} s unanswered: {sum(r.resends for r in reports)}"
             if args.resend_after else "pad messages never sent again (--resend-after 0)"))
    print(f"errors: {len(errors)} (target 0): {verdict(verdicts['errors'])}")
    for message in sorted(set(errors))[:10]:
        print(f"    {sum(e == message for e in errors)}× {message[:300]}")
    print(f"server decode round trip (drag step sent -> fragment run finished with its image): "
          f"n={decode['n']}  p50 {decode['p50']:.1f} ms  p95 {decode['p95']:.1f} ms  max {decode['max']:.1f} ms  "
          f"target p95 ≤ {P95_TARGET_MS:g} ms: {verdict(verdicts['p95'])}")
    print(f"opening the app (first page, pick the model), all sessions at once: n={opening['n']}  "
          f"p50 {opening['p50'] / 1000:.1f} s  p95 {opening['p95'] / 1000:.1f} s  (no target)")
    print(f"release -> whole page rerun: n={release['n']}  p50 {release['p50']:.0f} ms  p95 {release['p95']:.0f} ms; "
          f"page switch: n={page['n']}  p50 {page['p50']:.0f} ms  p95 {page['p95']:.0f} ms  (no target)")
    print(f"server RSS: start {rss['start']:.0f} MB (after a warm-up session), peak {rss['peak']:.0f} MB, "
          f"{rss['sessions_closed']:.0f} MB as the sessions closed, {rss['after']:.0f} MB after the session TTL "
          f"({args.session_ttl:g} s); MALLOC_ARENA_MAX {args.malloc_arenas or 'unset'}")
    print(f"growth per session (peak - start) / {args.sessions}: {growth:.1f} MB (target ≤ {GROWTH_TARGET_MB:g}): "
          f"{verdict(verdicts['growth'])}; given back after the sessions ended: {100 * released:.0f}% of the growth "
          f"(target ≥ {100 * RELEASED_TARGET:.0f}%): {verdict(verdicts['released'])}")
    print(f"CPU while the class worked: server {figures['server_cpu_s']:.1f} s, these clients {figures['client_cpu_s']:.1f} s, "
          f"over {figures['wall_s']:.1f} s on {os.cpu_count()} cores")
    passed = all(verdicts.values())
    if args.json:
        args.json.write_text(json.dumps({
            "benchmark": "load_test", "sessions": args.sessions, "seconds": args.seconds, "model": args.model,
            "errors": len(errors), "error_messages": sorted(set(errors))[:50], "decode_ms": decode,
            "open_ms": opening, "release_ms": release, "page_ms": page, "rss_mb": rss, "growth_per_session_mb": growth,
            "released_fraction": released, "malloc_arena_max": args.malloc_arenas, "server_cpu_s": figures["server_cpu_s"],
            "client_cpu_s": figures["client_cpu_s"], "wall_s": figures["wall_s"], "app_pages": figures["app_pages"],
            "pages_visited": pages_seen,
            "resends": sum(r.resends for r in reports),
            "per_session": [{"decoded": len(r.decode_ms), "releases": len(r.release_ms), "pages": r.pages,
                             "errors": len(r.errors)} for r in reports],
            "verdicts": verdicts, "passed": passed, "machine": machine_info()}, indent=2))
    print(f"result: {len(errors)} errors, decode p95 {decode['p95']:.1f} ms (≤ {P95_TARGET_MS:g}), "
          f"{growth:.1f} MB per session (≤ {GROWTH_TARGET_MB:g}), {100 * released:.0f}% given back: "
          f"{verdict(passed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
