"""An upstream nobody listens on: clients get tether's MySQL ERR 9001 (SQLSTATE 08S01) naming it; tether stays up, not ready."""
import pymysql
import pytest

from helpers import wait_until
from mariadb_server import free_port
from tether_proc import wait_closed_reason


def test_unreachable_upstream(tether):
    dead = free_port()
    t = tether(upstream=f"127.0.0.1:{dead}", connect_timeout="2s")
    for _ in range(2):
        with pytest.raises(pymysql.err.OperationalError) as e:
            t.connect(program_name="lonely", connect_timeout=15)
        errno, msg = e.value.args[0], e.value.args[1]
        assert errno == 9001, e.value.args
        # PyMySQL's own 2003 ("Can't connect to MySQL server on '127.0.0.1' (...)") never names a
        # port: this one must come from tether and name the upstream
        assert str(dead) in msg, f"message does not name the upstream 127.0.0.1:{dead}: {msg!r}"
    # libmariadb (the mariadb CLI) shows a pre-greeting ERR verbatim unless its code is a 2xxx
    # client code (then: "ERROR 2027 Received malformed packet"): tether's 9001 gets through.
    r = t.mysql_cli("SELECT 1", timeout=20)
    assert r.returncode != 0 and "9001" in r.stderr and str(dead) in r.stderr, r.stderr
    wait_closed_reason(t, "upstream_unreachable", 3)
    assert t.alive()
    assert t.http("GET", "/healthz")[0] == 200
    # readiness is 503 (may take a probe cycle to settle)
    wait_until(lambda: t.http("GET", "/readyz")[0] == 503, 15, "/readyz 503 with the upstream down")
    m = t.metrics()
    assert m.sum("tether_client_connections") == 0
    assert m.value("tether_upstream_connections") == 0


def test_readyz_follows_the_upstream(tether, mariadb):
    t = tether()
    t.wait_ready()
    dead = free_port()
    t2 = tether(upstream=f"127.0.0.1:{dead}")
    wait_until(lambda: t2.http("GET", "/readyz")[0] == 503, 15, "/readyz 503 for a dead upstream")
    assert t.http("GET", "/readyz")[0] == 200


def test_unresolvable_upstream_name(tether):
    t = tether(upstream="no-such-host.invalid:3306", connect_timeout="2s")
    with pytest.raises(pymysql.err.OperationalError) as e:
        t.connect(connect_timeout=15)
    assert e.value.args[0] == 9001, e.value.args
    assert "no-such-host.invalid" in e.value.args[1], e.value.args
    assert t.alive()
