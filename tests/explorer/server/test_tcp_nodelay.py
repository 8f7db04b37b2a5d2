"""TCP_NODELAY on the app server's sockets: the listener (so later connections inherit it) and open ones."""
import os
import socket
import sys

import pytest

from explorer.server import tcp_nodelay


def nodelay(sock: socket.socket) -> bool:
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


@pytest.fixture
def listener():
    # As Streamlit binds it: socket.socket(family) leaves proto 0, so asyncio never sets TCP_NODELAY.
    server = socket.socket(socket.AF_INET)
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server
    server.close()


def connect(listener) -> tuple[socket.socket, socket.socket]:
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    return client, accepted


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="lists descriptors in /proc; Linux copies the option on accept")
def test_open_connections_and_later_ones_get_nodelay(listener):
    client, accepted = connect(listener)
    assert listener.proto == 0 and not nodelay(accepted)  # the state Streamlit leaves
    descriptors = len(os.listdir("/proc/self/fd"))
    assert tcp_nodelay.set_on_tcp_sockets() >= 2  # the listener and the accepted socket, at least
    assert nodelay(listener) and nodelay(accepted)
    assert len(os.listdir("/proc/self/fd")) == descriptors  # every duplicate it made is closed again
    later_client, later = connect(listener)
    assert nodelay(later)  # inherited from the listener: no Nagle for sessions that open afterwards
    for s in (client, accepted, later_client, later):
        s.close()


def test_other_descriptors_are_left_alone(tmp_path, listener):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with open(tmp_path / "f", "w") as f, udp:
        tcp_nodelay.set_on_tcp_sockets()
        f.write("still open")  # a file descriptor is not touched
        assert udp.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_DGRAM


def test_for_this_server_runs_once(monkeypatch):
    calls = []
    monkeypatch.setattr(tcp_nodelay, "_done", False)
    monkeypatch.setattr(tcp_nodelay, "set_on_tcp_sockets", lambda: calls.append(1) or 0)
    tcp_nodelay.for_this_server()
    tcp_nodelay.for_this_server()
    assert calls == [1]
