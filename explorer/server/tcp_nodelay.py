"""Turn off Nagle's algorithm on the app server's TCP sockets, once per server process.

Streamlit binds its listening socket itself, as `socket.socket(family)`, so the socket's `proto` is 0.
asyncio turns on TCP_NODELAY for each accepted connection only when `sock.proto == IPPROTO_TCP`
(CPython 3.11 `base_events._set_nodelay`), so every websocket is left with Nagle on. A script run
answers with several small messages (new_session, status, deltas, script_finished); with Nagle on,
the second waits for the browser's delayed ACK of the first, which holds back every latent-pad answer.

Linux copies TCP_NODELAY from a listening socket to the connections it accepts, so setting it on the
listener covers every later session; the connections already open get it directly. Where the
process's descriptors cannot be listed (Windows), nothing changes.
"""
from __future__ import annotations

import os
import socket
import threading

_lock = threading.Lock()
_done = False
_FD_DIRS = ("/proc/self/fd", "/dev/fd")


def _open_descriptors() -> list[int]:
    for directory in _FD_DIRS:
        try:
            return [int(name) for name in os.listdir(directory) if name.isdigit()]
        except OSError:
            continue
    return []


def set_on_tcp_sockets() -> int:
    """Set TCP_NODELAY on every TCP socket this process holds; returns how many were changed."""
    changed = 0
    for fd in _open_descriptors():
        try:
            copy = os.dup(fd)  # a duplicate: closing it leaves the server's descriptor open
        except OSError:
            continue  # closed meanwhile
        try:
            duplicate = socket.socket(fileno=copy)
        except OSError:
            os.close(copy)
            continue  # not a socket
        with duplicate:
            if duplicate.family not in (socket.AF_INET, socket.AF_INET6) or duplicate.type != socket.SOCK_STREAM:
                continue
            try:
                if not duplicate.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY):
                    duplicate.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    changed += 1
            except OSError:
                continue
    return changed


def for_this_server() -> None:
    """Once per process: TCP_NODELAY on the server's listening socket and its open connections."""
    global _done
    if _done:
        return
    with _lock:
        if not _done:
            set_on_tcp_sockets()
            _done = True
