"""Handshake limits: a login too large for tether gets a MySQL ERR the client can read (not a TCP
reset), and a client that sends a lot behind its login pins nothing once it is logged in."""
import socket
import threading

import pytest

import rawproto
from helpers import wait_until, query_ok
from tether_proc import closed_counts

MAX_LOGIN = 256 * 1024


@pytest.mark.parametrize("size", [MAX_LOGIN + 1000, 4 << 20, 12 << 20], ids=["256KiB+", "4MiB", "12MiB"])
def test_login_over_the_limit_gets_an_err_not_a_reset(tether, processlist, size):
    t = tether()
    before = closed_counts(t).get("handshake_failed", 0)
    s, greeting = rawproto.raw_greeting(t.host, t.port)
    with s:
        s.settimeout(10)
        login = rawproto.login_packet(greeting, "app", "apppw", "tether_test",
                                      attrs={"program_name": "huge", "filler": "x" * size})
        # The whole login goes out, as a driver would send it; tether must keep reading
        # (and dropping) it after its ERR instead of resetting the connection.
        s.sendall(login)
        seq, payload = rawproto.read_packet(s)
        code, state, message = rawproto.parse_err(payload)
        assert seq == 2, seq
        assert (code, state) == (1043, "08S01"), (code, state, message)
        assert "login packet too large" in message and str(MAX_LOGIN) in message, message
        rest, closed = rawproto.read_until_closed(s, 5)
        assert closed and rest == b"", (closed, rest[:40])  # a FIN after the ERR, nothing else
    wait_until(lambda: closed_counts(t).get("handshake_failed", 0) == before + 1, 10,
               "the refused login counted as handshake_failed")
    # The server side was finished (reserved login refused), not left half-open.
    wait_until(lambda: t.metrics().value("tether_upstream_connections") == 0, 10,
               "no upstream connection left over")
    assert not [r for r in processlist() if r["USER"] == "unauthenticated user"]
    query_ok(t)


def test_a_refused_client_that_keeps_sending_is_closed_in_bounded_time(tether):
    """The drain after the ERR is bounded by --handshake-timeout: a client that never stops
    sending does not keep its socket forever."""
    t = tether(handshake_timeout="1s")
    s, greeting = rawproto.raw_greeting(t.host, t.port)
    stop = threading.Event()
    ended = {}

