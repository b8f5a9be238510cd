"""Abandoned handshakes: tether finishes them upstream with a refused login for --reserved-user, so
the server sees an authentication failure instead of a pre-auth abort (which counts towards
max_connect_errors and can block the proxy's host)."""
import socket

import rawproto
from helpers import wait_until


def test_abandoned_handshakes_use_the_reserved_user(tether, mariadb):
    t = tether(reserved_user="it_reserved_probe", handshake_timeout="1s")
    preauth = mariadb.status("Aborted_connects_preauth")
    # a client that hangs up right after the greeting, one that stays silent, one that sends garbage
    s, _ = rawproto.raw_greeting(t.host, t.port)
    s.close()
    s, _ = rawproto.raw_greeting(t.host, t.port)
    with s:
        assert rawproto.read_until_closed(s, 6)[1]
    s, _ = rawproto.raw_greeting(t.host, t.port)
    with s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert rawproto.read_until_closed(s, 6)[1]
    wait_until(lambda: t.metrics().value("tether_upstream_connections") == 0, 10,
               "upstream connections of the abandoned handshakes closed")
    wait_until(lambda: "Access denied for user 'it_reserved_probe'" in open(mariadb.error_log).read(),
               5, "the server to log a refused login for the reserved user")
    assert mariadb.status("Aborted_connects_preauth") == preauth, \
        "the server counted pre-auth aborts: tether hung up upstream mid-handshake"
    wait_until(lambda: not [r for r in mariadb.processlist() if r["USER"] == "unauthenticated user"],
               5, "no half-open backend handshakes left on the server")


def test_default_reserved_user_for_readiness(tether, mariadb):
    t = tether()
    t.wait_ready()
    assert "Access denied for user 'tether_abort_login'" in open(mariadb.error_log).read()
