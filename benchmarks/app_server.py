"""A headless `streamlit run` server on a free loopback port, for the benchmarks and the browser tests.

One place starts the app the same way everywhere (headless, loopback, no telemetry) and waits for
/_stcore/health, so a change to how the app must be started is made once.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "explorer" / "app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(script: str | Path = APP, *, env: dict[str, str] | None = None, args: tuple[str, ...] = (),
              log=subprocess.DEVNULL, timeout_s: float = 90) -> tuple[subprocess.Popen, str]:
    """(the server process, its base URL without a trailing slash) once /_stcore/health answers.

    `env` is added to this process's environment; the shipped models are used (VAE_ASSETS_MODELS_DIR is
    dropped). The server runs from the repository root, so it reads .streamlit/config.toml. Raises
    RuntimeError (naming `log` when it is a file) if it does not answer within timeout_s."""
    port = free_port()
    environment = {**os.environ, **(env or {})}
    environment.pop("VAE_ASSETS_MODELS_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *args],
        cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT if log is not subprocess.DEVNULL else log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return server, url
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            where = f"; see {log.name}" if hasattr(log, "name") else ""
            raise RuntimeError(f"the app server did not answer /_stcore/health within {timeout_s:g} s{where}")
        time.sleep(0.05)


def stop_app(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
