"""/readyz names the upstream's real problem (refused connect, a full server, no greeting), never the
readiness probe's own client-side note ("client went away during the handshake")."""
import signal
import time
import socket

import pymysql

from helpers import wait_until
from mariadb_server import free_port


def readyz(t):
    status, _, body = t.http("GET", "/readyz", timeout=2)
    return status, body.decode(errors="replace")


def wait_not_ready(t, needle, timeout=10):
    def check():
        status, body = readyz(t)
        assert "client went away" not in body, body
        return (status, body) if status == 503 and needle in body else None
    return wait_until(check, timeout, f"/readyz 503 naming {needle!r}; last: {readyz(t)}")


def test_readyz_names_a_refused_connect(tether):
    dead = free_port()
    t = tether(upstream=f"127.0.0.1:{dead}", readiness_interval="200ms", connect_timeout="2s")
    _, body = wait_not_ready(t, f"cannot connect to upstream 127.0.0.1:{dead}")
    assert "ECONNREFUSED" in body, body


def test_readyz_names_the_servers_refusal_when_it_is_full(tether, mariadb):
    """The first incident: every slot taken, the SUPER one too. The server then answers every new
    connection with ERR 1040 instead of a greeting, and /readyz must say so. (With only the ordinary
    slots full, MariaDB authenticates first and answers the probe's reserved user 1045, as usual:
    the probe cannot tell, so tether stays ready.)"""
    t = tether(readiness_interval="200ms")
    t.wait_ready()
    old = mariadb.sql("SELECT @@global.max_connections")[0][0]
    held = []
    try:
        mariadb.sql("SET GLOBAL max_connections = 1")  # MariaDB raises it to its minimum, 10

        def fill(connect):
            for _ in range(40):
                try:
                    held.append(connect())
                except pymysql.err.OperationalError as e:
                    assert e.args[0] == 1040, e.args
                    return
            raise AssertionError("the server never refused with 1040")

        fill(lambda: pymysql.connect(host="127.0.0.1", port=mariadb.port, user="app",
                                     password="apppw", connect_timeout=5))
        fill(mariadb.connect_root)  # root takes the extra slot kept for SUPER

        # A slot held by someone else while we filled (the probe's own login, a connection of an
        # earlier test still closing) frees up later: take it too before each look at /readyz.
        def full_and_not_ready():
            fill(mariadb.connect_root)
            status, body = readyz(t)
            assert "client went away" not in body, body
            return status == 503 and "upstream refused the connection: 1040" in body
        wait_until(full_and_not_ready, 10, "/readyz 503 naming the server's 1040")
        # Counted by the server's code (the alert on a full server keys on it).
        assert t.metrics().value("tether_upstream_refusals_total", code="1040") >= 1
    finally:
        for c in held:
            c.close()
        mariadb.sql(f"SET GLOBAL max_connections = {int(old)}")
    wait_until(lambda: readyz(t)[0] == 200, 10, "/readyz 200 once the server has room again")


def test_readyz_names_an_upstream_that_never_greets(tether):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepts (in the kernel) and never says a word
    port = silent.getsockname()[1]
    try:
        t = tether(upstream=f"127.0.0.1:{port}", readiness_interval="200ms", handshake_timeout="1s")
        wait_not_ready(t, f"upstream 127.0.0.1:{port} sent no greeting within 1s")
    finally:
        silent.close()


def test_readyz_can_ignore_the_upstream_but_not_a_drain(tether):
    """--readyz-checks-upstream false (the sidecar manifests): a database outage must not take every
    app pod out of its Service, so /readyz stays 200 while the upstream refuses connections (the
    client still gets tether's ERR naming the problem); a drain still answers 503."""
    dead = free_port()
    t = tether(upstream=f"127.0.0.1:{dead}", readiness_interval="200ms", connect_timeout="2s",
               readyz_checks_upstream="false")
    # Evidence of the outage first: a client is refused with the reason.
    try:
        t.connect(connect_timeout=5).close()
        raise AssertionError("a client got through to a dead upstream")
    except pymysql.err.OperationalError as e:
        assert "cannot connect to upstream" in str(e), e
    for _ in range(5):  # several probe rounds (200 ms apart) have failed by now
        assert readyz(t)[0] == 200, readyz(t)
        time.sleep(0.2)
    # Draining is still not ready (an open session keeps tether, and /readyz, up meanwhile).
    live = tether(readyz_checks_upstream="false", shutdown_grace="10s")
    live.wait_ready()
    session = live.connect()
    try:
        live.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: readyz(live)[0] == 503, 2.0, "/readyz 503 once draining")
    finally:
        session.close()
