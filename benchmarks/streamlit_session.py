"""One Streamlit session spoken over the app's websocket (/_stcore/stream), with no browser.

It does what a browser tab does, as far as a load test needs: it sends BackMsg rerun requests (a page,
widget values, a fragment) and reads the ForwardMsgs the server answers with. Like a tab, it keeps the
app's pages, the widgets' ids, the latent pad's data and fragment, and the messages the server marks
cacheable (a later copy comes back as a bare ref_hash). Anything the server draws as an error is kept
in `errors`: an exception element, an st.error alert, a compile error, a missing page.

The message shapes were recorded from Chromium's own websocket frames while dragging the pad
(benchmarks/load_test.py's docstring says how to record them again).
"""
from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

# script_finished values that end a rerun request; FINISHED_EARLY_FOR_RERUN means another run follows.
FINAL_STATUSES = {
    ForwardMsg.FINISHED_SUCCESSFULLY: "finished",
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "fragment finished",
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile error",
}
# Cacheable messages a session keeps. Every rerun tells the server which it holds, and the server may
# answer with a bare ref_hash to any of them, so evicting one between the two breaks the session (seen
# once with 64 under 30 sessions). Chromium keeps them for runs, not by count; 4096 is never reached.
MAX_CACHED_MESSAGES = 4096
MAX_MESSAGE_BYTES = 256 * 2**20  # the server's own default cap is 200 MB (server.maxMessageSize)


@dataclass(frozen=True)
class Page:
    script_hash: str
    name: str  # the title in the navigation, e.g. "Latent map"


@dataclass
class RunResult:
    """What one rerun request brought: how it ended, how long it took, the errors drawn meanwhile."""

    status: str
    seconds: float
    errors: list[str] = field(default_factory=list)


class SessionClosed(Exception):
    """The server closed the websocket, or it broke."""


def widget_key(widget_id: str) -> str:
    """The user key in a widget id such as '$$ID-<hash>-sidebar_model_picker' ('None' when unkeyed)."""
    return widget_id.split("-", 2)[2] if widget_id.startswith("$$ID-") else widget_id


class StreamlitSession:
    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.pages: list[Page] = []
        self.page_hash = ""  # the page the last full run drew
        self.widgets: dict[str, object] = {}  # user key -> the widget's element proto (selectbox, checkbox, ...)
        self.components: dict[str, dict] = {}  # user key -> {"id", "fragment_id", "data"} of a components.v2 element
        self.errors: list[str] = []
        self.messages_received = 0
        self.bytes_received = 0
        self.runs_finished = 0  # script_finished messages that ended a rerun request (see FINAL_STATUSES)
        self._fragments: dict[tuple[int, ...], str] = {}  # block delta path -> fragment id
        self._cache: OrderedDict[str, ForwardMsg] = OrderedDict()
        self._finished: asyncio.Queue[ForwardMsg | None] = asyncio.Queue()
        self._activity = asyncio.Event()  # set whenever a message arrives or the socket ends
        self._ws = None
        self._reader: asyncio.Task | None = None
        self.closed_reason: str | None = None

    # ---- connection -------------------------------------------------------------------------

    async def open(self) -> None:
        url = self.base_url.replace("http://", "ws://").replace("https://", "wss://") + "/_stcore/stream"
        # The browser sends the subprotocol "streamlit" (then its XSRF token, only needed for auth cookies).
        self._ws = await connect(url, subprotocols=["streamlit"], max_size=MAX_MESSAGE_BYTES, open_timeout=30)
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        self.closed_reason = self.closed_reason or "closed by the client"
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader

    @property
    def is_open(self) -> bool:
        return self._ws is not None and self._reader is not None and not self._reader.done()

    # ---- requests ---------------------------------------------------------------------------

    async def rerun(self, *, page_hash: str | None = None, widgets: list[WidgetState] = (),
                    fragment_id: str = "", timeout: float = 30.0) -> RunResult:
        """Ask for a rerun and wait until the server has finished it (and any rerun it chains to)."""
        while not self._finished.empty():  # runs nobody waited for (none is in flight when this is called)
            self._finished.get_nowait()
        errors_before = len(self.errors)
        start = time.perf_counter()
        await self.send_rerun(page_hash=page_hash, widgets=widgets, fragment_id=fragment_id)
        deadline = start + timeout
        while True:
            try:
                finished = await asyncio.wait_for(self._finished.get(), max(0.0, deadline - time.perf_counter()))
            except TimeoutError:
                raise TimeoutError(f"no script_finished within {timeout:g} s") from None
            if finished is None:
                raise SessionClosed(self.closed_reason or "closed")
            status = FINAL_STATUSES.get(finished.script_finished)
            if status is not None:
                return RunResult(status, time.perf_counter() - start, self.errors[errors_before:])

    async def send_rerun(self, *, page_hash: str | None = None, widgets: list[WidgetState] = (),
                         fragment_id: str = "") -> None:
        """Send a rerun request (a page, widget values, a fragment) without waiting for it."""
        if not self.is_open:
            raise SessionClosed(self.closed_reason or "not open")
        message = BackMsg()
        state = message.rerun_script
        state.widget_states.widgets.extend(widgets)
        state.page_script_hash = self.page_hash if page_hash is None else page_hash
        state.fragment_id = fragment_id
        state.cached_message_hashes.extend(self._cache.keys())
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        state.context_info.url = self.base_url + "/"
        await self._ws.send(message.SerializeToString())

    async def wait_until(self, condition, timeout: float) -> bool:
        """Wait until condition() holds, checked after every message; False when `timeout` s pass first."""
        deadline = time.perf_counter() + timeout
        while not condition():
            if not self.is_open:
                raise SessionClosed(self.closed_reason or "closed")
            self._activity.clear()
            try:
                await asyncio.wait_for(self._activity.wait(), max(0.0, deadline - time.perf_counter()))
            except TimeoutError:
                return condition()
        return True

    # ---- what the server sends --------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for frame in self._ws:
                if isinstance(frame, bytes):
                    self.bytes_received += len(frame)
                    self._handle(ForwardMsg.FromString(frame))
        except Exception as e:  # noqa: BLE001 - any failure of the socket ends the session the same way
            self.closed_reason = f"websocket broke: {type(e).__name__}: {e}"
        else:
            code = self._ws.close_code
            if self.closed_reason is None:
                self.closed_reason = f"closed by the server (code {code})"
        finally:
            self._finished.put_nowait(None)
            self._activity.set()

    def _handle(self, msg: ForwardMsg) -> None:
        self.messages_received += 1
        self._activity.set()
        if msg.HasField("ref_hash"):
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                self.errors.append(f"the server referred to message {msg.ref_hash}, which this session never got")
                return
            self._cache.move_to_end(msg.ref_hash)
            resolved = ForwardMsg()
            resolved.CopyFrom(cached)
            resolved.metadata.CopyFrom(msg.metadata)  # where it goes this time
            msg = resolved
        elif msg.metadata.cacheable and msg.hash:
            self._cache[msg.hash] = msg
            while len(self._cache) > MAX_CACHED_MESSAGES:
                self._cache.popitem(last=False)
        kind = msg.WhichOneof("type")
        if kind == "navigation":
            self.pages = [Page(p.page_script_hash, p.page_name) for p in msg.navigation.app_pages]
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "new_session" and not msg.metadata.run.fragment_ids:
            self._fragments.clear()  # a full run lays the page out afresh
        elif kind == "delta":
            self._handle_delta(msg)
        elif kind == "script_finished":
            self.runs_finished += msg.script_finished in FINAL_STATUSES
            self._finished.put_nowait(msg)
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            exc = msg.session_event.script_compilation_exception
            self.errors.append(f"compile error: {exc.type}: {exc.message}")
        elif kind == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name!r}")

    def _handle_delta(self, msg: ForwardMsg) -> None:
        delta, path = msg.delta, tuple(msg.metadata.delta_path)
        if delta.HasField("add_block") and delta.fragment_id:
            self._fragments[path] = delta.fragment_id
        if not delta.HasField("new_element"):
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            e = element.exception
            self.errors.append(f"exception: {e.type}: {e.message}")
        elif kind == "alert" and element.alert.format == element.alert.ERROR:
            self.errors.append(f"st.error: {element.alert.body}")
        elif kind == "bidi_component":
            component = element.bidi_component
            fragment = next((self._fragments[path[:n]] for n in range(len(path) - 1, 0, -1)
                             if path[:n] in self._fragments), "")
            data = json.loads(component.json) if component.json else None
            # finished_before: the run that carried this data ends with the next script_finished.
            self.components[widget_key(component.id)] = {"id": component.id, "fragment_id": fragment, "data": data,
                                                         "finished_before": self.runs_finished}
        elif kind is not None and hasattr(getattr(element, kind), "id"):
            widget = getattr(element, kind)
            if widget.id:
                self.widgets[widget_key(widget.id)] = widget
