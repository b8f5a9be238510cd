"""The TCP options on both sockets of a session, read from tether's own descriptors.

Client sockets get TCP_NODELAY and keepalive from the listening socket (Linux copies them to
every accepted socket); server sockets get them one by one. These tests read the options off
the live sockets (pidfd_getfd duplicates a descriptor of another process; root may), so they
hold however tether sets them.
"""
import ctypes
import os
import time
import socket

import pytest

SYS_pidfd_getfd = 438  # x86_64 and aarch64 alike
_libc = ctypes.CDLL(None, use_errno=True)


def _tether_sockets(pid):
    """Duplicates of every TCP socket tether `pid` has open (the caller closes them)."""
    pidfd = os.pidfd_open(pid)
    found = []
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{name}")
            except FileNotFoundError:
                continue
            if not target.startswith("socket:"):
                continue
            fd = _libc.syscall(SYS_pidfd_getfd, pidfd, int(name), 0)
            if fd < 0:
                err = ctypes.get_errno()
                raise OSError(err, f"pidfd_getfd({name}): {os.strerror(err)}")
            s = socket.socket(fileno=fd)
            if s.family in (socket.AF_INET, socket.AF_INET6) and s.type == socket.SOCK_STREAM:
                found.append(s)
            else:
                s.close()
    finally:
        os.close(pidfd)
    return found


def _options(s):
    tcp = socket.IPPROTO_TCP
    return {
        "nodelay": s.getsockopt(tcp, socket.TCP_NODELAY),
        "keepalive": s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        "idle": s.getsockopt(tcp, socket.TCP_KEEPIDLE),
        "interval": s.getsockopt(tcp, socket.TCP_KEEPINTVL),
        "count": s.getsockopt(tcp, socket.TCP_KEEPCNT),
        "user_timeout_ms": s.getsockopt(tcp, socket.TCP_USER_TIMEOUT),
    }


def _session_socket_options(t, mariadb, conn):
    """(client side, server sides): the options of tether's socket to the client `conn`, and of
    every socket tether has to the server (each session's, and the readiness probe's if one runs)."""
    client_port = conn._sock.getsockname()[1]
    client_side, server_sides = None, []
    for s in _tether_sockets(t.proc.pid):
        try:
            try:
                peer = s.getpeername()
            except OSError:
                continue  # a listening socket
            local = s.getsockname()
            if local[1] == t.port and peer[1] == client_port:
                client_side = _options(s)
            elif peer[1] == mariadb.port:
                server_sides.append(_options(s))
        finally:
            s.close()
    assert client_side is not None, "tether's socket to this client not found"
    assert server_sides, "tether's socket to the server not found"
    return client_side, server_sides


def test_both_sockets_of_a_session_have_nodelay_keepalive_and_user_timeout(tether, mariadb):
    # Different figures per side, so a side that took the other's settings shows.
    t = tether(client_keepalive="4s", upstream_keepalive="9s")
    conns = [t.connect() for _ in range(2)]  # the second accepted socket too, not just the first
    # The server sockets get their keepalive a second after connect (a janitor tick may add 250 ms).
    time.sleep(1.6)
    try:
        for conn in conns:
            client_side, server_sides = _session_socket_options(t, mariadb, conn)
            # idle 4 s, probes every max(1, 4 // 3) = 1 s, 3 of them: gone after 4 + 3 = 7 s
            assert client_side == {"nodelay": 1, "keepalive": 1, "idle": 4, "interval": 1, "count": 3,
                                   "user_timeout_ms": 7000}
            for server_side in server_sides:
                assert server_side == {"nodelay": 1, "keepalive": 1, "idle": 9, "interval": 3, "count": 3,
                                       "user_timeout_ms": 18000}
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                assert cur.fetchone() == (1,)
    finally:
        for conn in conns:
            conn.close()


def test_keepalive_off_leaves_nodelay_on(tether, mariadb):
    t = tether(client_keepalive="0", upstream_keepalive="0")
    conn = t.connect()
    try:
        client_side, server_sides = _session_socket_options(t, mariadb, conn)
        for side in [client_side] + server_sides:
            assert side["nodelay"] == 1
            assert side["keepalive"] == 0
            assert side["user_timeout_ms"] == 0
    finally:
        conn.close()


if not hasattr(os, "pidfd_open"):  # Python < 3.9
    pytestmark = pytest.mark.skip("needs os.pidfd_open")
