"""COM_CHANGE_USER is admitted like a login: over a cap the client gets tether's ERR (1203 or 1040)
in place of the server's OK, the server gets COM_QUIT, the session ends and is counted as rejected;
the session's charge moves with its identity both ways (admin -> capped is charged, capped ->
admin is released). Real PyMySQL connections; rawproto.change_user sends the COM_CHANGE_USER."""
import pymysql
import pytest

import rawproto
from helpers import wait_until
from incident_support import events
from tether_proc import closed_counts


def thread_id(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        return cur.fetchone()[0]


def refused(t, errno, **kw):
    with pytest.raises(pymysql.err.MySQLError) as e:
        t.connect(**kw).close()
    assert e.value.args[0] == errno, e.value.args
    return e.value.args[1]


def test_admin_changing_to_a_capped_user_is_refused_over_the_cap(tether, mariadb):
    t = tether(max_connections_per_user=1, admin_users="dba")
    held = t.connect(program_name="worker")  # app: 1 of 1
    conn = t.connect(user="dba", password="dbapw", program_name="console")
    tid = thread_id(conn)
    aborted = mariadb.status("Aborted_clients")
    with pytest.raises(pymysql.err.MySQLError) as e:
        rawproto.change_user(conn, "app", "apppw", "tether_test", {"program_name": "console"})
    assert e.value.args[0] == 1203, e.value.args
    assert "user 'app' already has 1 connections: --max-connections-per-user 1" in e.value.args[1]
    # the session is gone on the server, with a clean quit
    wait_until(lambda: tid not in mariadb.thread_ids(), 5, "the changed session's server thread to end")
    assert mariadb.status("Aborted_clients") == aborted
    m = t.metrics()
    assert m.value("tether_rejected_connections_total", client="console", user="app", limit="user") == 1
    wait_until(lambda: closed_counts(t).get("rejected", 0) == 1, 5, "one session closed as rejected")
    assert events(t, "connection_rejected", user="app", limit="user")
    # the held session is untouched
    with held.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone() == ("app@%",)
    held.close()


def test_admin_changing_to_a_capped_user_is_charged(tether):
    t = tether(max_connections=1, admin_users="dba")
    conn = t.connect(user="dba", password="dbapw", program_name="console")
    rawproto.change_user(conn, "app", "apppw", "tether_test", {"program_name": "console"})
    with conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone() == ("app@%",)
    # the changed session now takes the one slot
    refused(t, 1040, program_name="another")
    conn.close()
    wait_until(lambda: not t.metrics().series("tether_client_connections", client="console"), 5,
               "the changed session to end")
    t.connect(program_name="another").close()


def test_capped_user_changing_to_an_admin_is_released(tether):
    t = tether(max_connections=1, admin_users="dba")
    conn = t.connect(program_name="console")  # app: the one slot
    refused(t, 1040, program_name="another")
    rawproto.change_user(conn, "dba", "dbapw", "tether_test", {"program_name": "console"})
    with conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone() == ("dba@%",)
    # an admin user is never charged: the slot is free again
    with t.connect(program_name="another") as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    conn.close()


def test_change_user_over_the_total_cap_gets_1040(tether, mariadb):
    t = tether(max_connections=1, admin_users="dba")
    held = t.connect(program_name="worker")
    conn = t.connect(user="dba", password="dbapw", program_name="console")
    with pytest.raises(pymysql.err.MySQLError) as e:
        rawproto.change_user(conn, "other", "otherpw", "tether_test", {"program_name": "console"})
    assert e.value.args[0] == 1040, e.value.args
    assert t.metrics().value("tether_rejected_connections_total", client="console", user="other",
                             limit="total") == 1
    held.close()
