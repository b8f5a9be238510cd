"""A failed login: the server's ERR passes through unchanged and tether counts it."""
import pymysql
import pytest

from helpers import wait_until
from tether_proc import wait_closed_reason


def test_wrong_password_is_1045_and_counted(tether, mariadb):
    t = tether()
    with pytest.raises(pymysql.err.OperationalError) as e:
        t.connect(password="wrong", program_name="authfail")
    assert e.value.args[0] == 1045
    assert "Access denied for user 'app'" in e.value.args[1], e.value.args
    m = wait_until(lambda: (lambda m: m if m.value("tether_auth_failures_total", client="authfail",
                                                     user="app") == 1 else None)(t.metrics()),
                   5, 'tether_auth_failures_total{client="authfail",user="app"} == 1')
    assert not m.series("tether_client_connections", client="authfail"), \
        "a failed login must not count as an open client connection"
    assert m.sum("tether_connections_opened_total", client="authfail") == 0
    wait_closed_reason(t, "auth_failed", 1)
    wait_until(lambda: t.metrics().value("tether_upstream_connections") == 0, 5,
               "upstream connection closed after the auth failure")

    # a second failure counts again; a good login afterwards works
    with pytest.raises(pymysql.err.OperationalError):
        t.connect(password="wrong-again", program_name="authfail")
    wait_until(lambda: t.metrics().value("tether_auth_failures_total", client="authfail",
                                         user="app") == 2, 5, "auth failures == 2")
    conn = t.connect(program_name="authfail")
    conn.close()


def test_unknown_user_and_cli_see_1045(tether):
    t = tether()
    with pytest.raises(pymysql.err.OperationalError) as e:
        t.connect(user="nobody", password="x", program_name="ghost")
    assert e.value.args[0] == 1045
    r = t.mysql_cli("SELECT 1", password="bad")
    assert r.returncode != 0
    assert "ERROR 1045 (28000)" in r.stderr, r.stderr
    wait_until(lambda: t.metrics().value("tether_auth_failures_total", client="mysql", user="app") == 1,
               5, 'tether_auth_failures_total{client="mysql",user="app"} == 1')
    wait_until(lambda: t.metrics().value("tether_auth_failures_total", client="ghost",
                                         user="nobody") == 1,
               5, 'tether_auth_failures_total{client="ghost",user="nobody"} == 1')


def test_unknown_database_is_1044_or_1049(tether):
    t = tether()
    with pytest.raises(pymysql.err.OperationalError) as e:
        t.connect(database="no_such_db")
    assert e.value.args[0] in (1044, 1049), e.value.args
    # tether keeps serving
    conn = t.connect()
    conn.close()
