"""COM_CHANGE_USER: a new login inside a session; tether must relay it and re-attribute the session.

No packaged client here issues COM_CHANGE_USER (PyMySQL has no API for it, the mariadb CLI never
sends it), so rawproto.change_user sends it over a PyMySQL connection exactly as a driver would."""
import pymysql
import pytest

import rawproto
from helpers import wait_until


def test_change_user_reattributes_the_session(tether):
    t = tether()
    conn = t.connect(program_name="chuser")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            tid = cur.fetchone()[0]
        wait_until(lambda: t.metrics().value("tether_client_connections", client="chuser",
                                             user="app") == 1, 5, "gauge for app = 1")

        rawproto.change_user(conn, "other", "otherpw", "tether_test", {"program_name": "chuser"})
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER(), CONNECTION_ID()")
            assert cur.fetchone() == ("other@%", tid)

        wait_until(lambda: t.connection_by_thread(tid)["user"] == "other", 5,
                   "/connections user to become 'other' after COM_CHANGE_USER")
        m = wait_until(lambda: (lambda m: m if m.value("tether_client_connections", client="chuser",
                                                         user="other") == 1 else None)(t.metrics()),
                       5, 'tether_client_connections{client="chuser",user="other"} == 1')
        assert not m.has("tether_client_connections", client="chuser", user="app"), \
            "the series for the old user must be removed when its count drops to 0"
    finally:
        conn.close()
    wait_until(lambda: not t.metrics().series("tether_client_connections", client="chuser"), 5,
               "no tether_client_connections series for chuser after close")


def test_change_user_with_wrong_password_is_refused(tether, mariadb):
    t = tether()
    conn = t.connect(program_name="chuser-bad")
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        tid = cur.fetchone()[0]
    with pytest.raises(pymysql.err.OperationalError) as e:
        rawproto.change_user(conn, "other", "wrong", "tether_test")
    assert e.value.args[0] == 1045
    conn.close()
    wait_until(lambda: tid not in mariadb.thread_ids(), 5, "backend session gone after close")
    wait_until(lambda: not t.metrics().series("tether_client_connections", client="chuser-bad"), 5,
               "no tether_client_connections series left for chuser-bad")
