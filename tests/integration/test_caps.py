"""Connection caps: --max-connections (1040), --max-connections-per-user and
--max-connections-per-client (1203), --admin-users exempt. A refused client gets a real MySQL ERR
and the server never sees its login (tether finishes the server side with a refused login for the
reserved user instead)."""
import contextlib
import time

import pymysql
import pytest

from helpers import wait_until
from incident_support import events
from tether_proc import closed_counts

RESERVED = "it_caps_reserved"


def caps_tether(tether, **flags):
    """A tether whose readiness probe ran once (so later reserved-user logins are ours alone)."""
    t = tether(reserved_user=RESERVED, readiness_interval="1h", **flags)
    t.wait_ready()
    return t


def refused(t, errno, **kw):
    with pytest.raises(pymysql.err.MySQLError) as e:
        t.connect(**kw).close()
    assert e.value.args[0] == errno, f"expected {errno}, got {e.value.args}"
    return e.value.args[1]


def reserved_denials(mariadb):
    with open(mariadb.error_log, errors="replace") as f:
        return f.read().count(f"Access denied for user '{RESERVED}'")


def app_denials(mariadb):
    with open(mariadb.error_log, errors="replace") as f:
        return f.read().count("Access denied for user 'app'")


def hold(stack, conn):
    """Keep `conn` until the ExitStack ends (closing it quietly if the test closed it already)."""
    def close():
        if conn.open:
            conn.close()
    stack.callback(close)
    return conn


def query_ok(conn):
    with conn.cursor() as cur:
        # (not its rows: other tests add some)
        cur.execute("SELECT DATABASE(), COUNT(*) >= 0 FROM items")
        return cur.fetchone() == ("tether_test", 1)


def test_total_cap_1040_admin_still_gets_in(tether, mariadb):
    t = caps_tether(tether, max_connections=3, admin_users="dba")
    aborted = mariadb.status("Aborted_connects")
    preauth = mariadb.status("Aborted_connects_preauth")
    denied, app_denied = reserved_denials(mariadb), app_denials(mariadb)
    with contextlib.ExitStack() as stack:
        conns = [hold(stack, t.connect(program_name=f"svc-{i}")) for i in range(3)]
        assert all(query_ok(c) for c in conns)

        msg = refused(t, 1040, program_name="svc-4")
        assert "--max-connections 3" in msg and "'svc-4'" in msg and "'app'" in msg, msg
        # the total cap is for everyone who is not an admin user
        msg = refused(t, 1040, user="other", password="otherpw", program_name="svc-5")
        assert "'other'" in msg, msg
        # the mariadb CLI shows the SQLSTATE: 08004
        r = t.mysql_cli("SELECT 1")
        assert r.returncode != 0 and "ERROR 1040 (08004)" in r.stderr, r.stderr

        # an admin user still gets in, several times, and is not charged to the cap
        dbas = [hold(stack, t.connect(user="dba", password="dbapw", program_name="console"))
                for _ in range(2)]
        assert all(query_ok(c) for c in dbas)
        m = t.metrics()
        assert m.value("tether_client_connections", client="console", user="dba") == 2
        assert m.value("tether_rejected_connections_total", client="svc-4", user="app",
                       limit="total") == 1
        assert m.value("tether_rejected_connections_total", client="svc-5", user="other",
                       limit="total") == 1
        assert m.sum("tether_rejected_connections_total", limit="total") == 3
        assert m.sum("tether_rejected_connections_total", client="console") == 0

        # the server never saw the refused logins
        assert len(mariadb.processlist("app")) == 3, mariadb.processlist("app")
        assert not mariadb.processlist("other")
        # each refused client cost the server exactly one refused reserved-user login
        wait_until(lambda: reserved_denials(mariadb) - denied == 3, 5,
                   f"3 refused logins for {RESERVED} in the server's error log")
        assert mariadb.status("Aborted_connects") - aborted == 3
        assert mariadb.status("Aborted_connects_preauth") == preauth
        assert app_denials(mariadb) == app_denied
        wait_until(lambda: closed_counts(t).get("rejected", 0) == 3, 5,
                   'tether_connections_closed_total{reason="rejected"} == 3')
        lines = events(t, "connection_rejected", limit="total")
        assert {(ln.get("client"), ln.get("user")) for ln in lines} >= {("svc-4", "app"),
                                                                         ("svc-5", "other")}
        assert all(ln.level == "warn" for ln in lines)
        assert len(events(t, "session_closed", reason="rejected")) == 3

    # after the refusals, with room again, a normal login works
    wait_until(lambda: t.metrics().sum("tether_client_connections") == 0, 5, "all sessions closed")
    with t.connect(program_name="svc-4") as c:
        assert query_ok(c)


def test_per_user_cap_1203(tether, mariadb):
    t = caps_tether(tether, max_connections_per_user=2, admin_users="dba")
    with contextlib.ExitStack() as stack:
        a = [hold(stack, t.connect(program_name=f"job-{i}")) for i in range(2)]
        msg = refused(t, 1203, program_name="job-3")
        assert "user 'app' already has 2 connections: --max-connections-per-user 2" in msg, msg
        r = t.mysql_cli("SELECT 1")
        assert r.returncode != 0 and "ERROR 1203 (42000)" in r.stderr, r.stderr
        # another user is not affected (it has its own 2)
        o = [hold(stack, t.connect(user="other", password="otherpw", program_name="job-x"))
             for _ in range(2)]
        assert all(query_ok(c) for c in a + o)
        refused(t, 1203, user="other", password="otherpw", program_name="job-x")
        # admin users are not capped per user either
        d = [hold(stack, t.connect(user="dba", password="dbapw")) for _ in range(3)]
        assert all(query_ok(c) for c in d)
        m = t.metrics()
        assert m.sum("tether_rejected_connections_total", user="app", limit="user") == 2
        assert m.sum("tether_rejected_connections_total", user="other", limit="user") == 1
        assert len(mariadb.processlist("app")) == 2
        wait_until(lambda: closed_counts(t).get("rejected", 0) == 3, 5, "3 closes with reason rejected")
        rej = events(t, "connection_rejected", user="app", limit="user")
        assert rej and rej[0].level == "warn", [ln.raw for ln in events(t, "connection_rejected")]

        # one leaves: the next login for app works
        a[0].close()
        wait_until(lambda: len(mariadb.processlist("app")) == 1, 5, "app's session to end")
        wait_until(lambda: t.metrics().sum("tether_client_connections", user="app") == 1, 5,
                   "tether to count 1 app session")
        with t.connect(program_name="job-3") as c:
            assert query_ok(c)


def test_per_client_cap_1203(tether, mariadb):
    t = caps_tether(tether, max_connections_per_client=2)
    with contextlib.ExitStack() as stack:
        a = [hold(stack, t.connect(program_name="batch")) for _ in range(2)]
        msg = refused(t, 1203, program_name="batch")
        assert "client 'batch' already has 2 connections: --max-connections-per-client 2" in msg, msg
        # the cap is per client label, whatever the user
        refused(t, 1203, user="other", password="otherpw", program_name="batch")
        # a different client with the same user is fine
        b = [hold(stack, t.connect(program_name="web")) for _ in range(2)]
        assert all(query_ok(c) for c in a + b)
        m = t.metrics()
        assert m.sum("tether_rejected_connections_total", client="batch", limit="client") == 2
        assert m.value("tether_client_connections", client="batch", user="app") == 2
        assert m.value("tether_client_connections", client="web", user="app") == 2
        assert len(mariadb.processlist("app")) == 4 and not mariadb.processlist("other")
        wait_until(lambda: closed_counts(t).get("rejected", 0) == 2, 5, "2 closes with reason rejected")

        a[1].close()
        wait_until(lambda: t.metrics().value("tether_client_connections", client="batch",
                                             user="app") == 1, 5, "batch back to 1")
        with t.connect(program_name="batch") as c:
            assert query_ok(c)


def test_rejection_log_is_rate_limited(tether):
    """One connection_rejected line per client and limit at most every 10 s; every refusal is
    still counted."""
    t = caps_tether(tether, max_connections_per_client=1)
    with t.connect(program_name="flood"), t.connect(program_name="trickle"):
        for _ in range(6):
            refused(t, 1203, program_name="flood")
        refused(t, 1203, program_name="trickle")
        m = t.metrics()
        assert m.value("tether_rejected_connections_total", client="flood", user="app",
                       limit="client") == 6
        assert m.value("tether_rejected_connections_total", client="trickle", user="app",
                       limit="client") == 1
        wait_until(lambda: len(events(t, "session_closed", reason="rejected")) == 7, 5,
                   "7 session_closed reason=rejected lines")
        flood = events(t, "connection_rejected", client="flood")
        assert len(flood) == 1, [ln.raw for ln in flood]
        assert flood[0].get("limit") == "client" and flood[0].get("user") == "app", flood[0].raw
        assert flood[0].get("suppressed") == "0", flood[0].raw
        # another client has its own line
        assert len(events(t, "connection_rejected", client="trickle")) == 1, \
            [ln.raw for ln in events(t, "connection_rejected")]
        # 10 s after the first line, the next refusal is logged again with what was suppressed
        time.sleep(max(0.0, flood[0].ts + 10.3 - time.time()))
        refused(t, 1203, program_name="flood")
        flood = wait_until(lambda: (lambda f: f if len(f) == 2 else None)(
            events(t, "connection_rejected", client="flood")), 5, "a 2nd connection_rejected line")
        assert flood[1].get("suppressed") == "5", flood[1].raw
