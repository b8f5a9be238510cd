"""Clients that never complete a login: garbage, random bytes, or silence. tether closes them
(within --handshake-timeout) and keeps serving everyone else."""
import random
import socket
import struct

import pytest

import rawproto
from helpers import wait_until, query_ok
from tether_proc import closed_counts, wait_closed_reason

HANDSHAKE_TIMEOUT = "1s"
CLOSE_WITHIN = 6  # generous upper bound on "closed after a 1 s handshake timeout"


def greeting_then_send(t, data):
    s, greeting = rawproto.raw_greeting(t.host, t.port)
    assert greeting[0] == 10, f"expected a protocol-10 greeting, got {greeting[:20]!r}"
    if data:
        s.sendall(data)
    return s


def test_http_request_as_login(tether):
    t = tether(handshake_timeout=HANDSHAKE_TIMEOUT)
    s = greeting_then_send(t, b"GET / HTTP/1.0\r\n\r\n")
    with s:
        _, closed = rawproto.read_until_closed(s, CLOSE_WITHIN)
    assert closed, f"an HTTP request as login was not closed within {CLOSE_WITHIN}s"
    wait_closed_reason(t, "handshake_failed", 1)
    query_ok(t)


def test_truncated_login_packet(tether):
    """A well-framed packet with seq 1 whose payload is far too short to be a login."""
    t = tether(handshake_timeout=HANDSHAKE_TIMEOUT)
    s = greeting_then_send(t, b"\x02\x00\x00\x01\x00\x00")
    with s:
        _, closed = rawproto.read_until_closed(s, CLOSE_WITHIN)
    assert closed
    wait_closed_reason(t, "handshake_failed", 1)
    query_ok(t)


def test_random_bytes_as_login(tether):
    t = tether(handshake_timeout=HANDSHAKE_TIMEOUT)
    rng = random.Random(1234)
    for n in (3, 64, 4096):
        data = bytes(rng.randrange(256) for _ in range(n))
        s = greeting_then_send(t, data)
        with s:
            _, closed = rawproto.read_until_closed(s, CLOSE_WITHIN)
        assert closed, f"{n} random bytes: not closed within {CLOSE_WITHIN}s"
    wait_until(lambda: sum(closed_counts(t).get(r, 0) for r in
                           ("handshake_failed", "client_timeout", "auth_failed")) >= 3, 5,
               "3 closes counted as handshake_failed/client_timeout/auth_failed")
    assert t.alive()
    query_ok(t)
    wait_until(lambda: t.metrics().value("tether_upstream_connections") == 0, 10,
               "no upstream connections left over from the garbage clients")


def test_silent_client_times_out(tether):
    t = tether(handshake_timeout=HANDSHAKE_TIMEOUT)
    s = greeting_then_send(t, b"")
    with s:
        # while the silent client waits, others are served normally
        query_ok(t)
        _, closed = rawproto.read_until_closed(s, CLOSE_WITHIN)
    assert closed, f"a silent client was not closed within {CLOSE_WITHIN}s"
    wait_closed_reason(t, "client_timeout", 1)
    query_ok(t)
    wait_until(lambda: t.metrics().value("tether_upstream_connections") == 0, 10,
               "the silent client's upstream connection closed too")


def test_client_that_connects_and_sends_nothing_not_even_reading(tether):
    """A client that never reads the greeting either (plain TCP connect) is closed too."""
    t = tether(handshake_timeout=HANDSHAKE_TIMEOUT)
    s = socket.create_connection((t.host, t.port), timeout=5)
    with s:
        _, closed = rawproto.read_until_closed(s, CLOSE_WITHIN)
    assert closed
    wait_closed_reason(t, "client_timeout", 1)


def test_slowloris_login_dribbled_byte_by_byte(tether):
    """A valid-looking login header that never finishes: closed by the handshake timeout."""
    t = tether(handshake_timeout=HANDSHAKE_TIMEOUT)
    s = greeting_then_send(t, struct.pack("<I", 200)[:3] + b"\x01" + b"\x00" * 10)
    with s:
        _, closed = rawproto.read_until_closed(s, CLOSE_WITHIN)
    assert closed
    wait_closed_reason(t, "client_timeout", 1)
    query_ok(t)


def test_many_garbage_clients_do_not_hurt_normal_ones(tether):
    t = tether(handshake_timeout=HANDSHAKE_TIMEOUT)
    socks = [socket.create_connection((t.host, t.port), timeout=5) for _ in range(20)]
    try:
        for s in socks[:10]:
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\xaa" * 100)  # a TLS hello
        query_ok(t)
        for s in socks:
            _, closed = rawproto.read_until_closed(s, CLOSE_WITHIN)
            assert closed
    finally:
        for s in socks:
            s.close()
    query_ok(t)
    assert t.alive()
