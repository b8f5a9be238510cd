"""The upstream as a moving part: reached over a unix socket, shut down and restarted under tether."""
import pymysql
import pytest

from helpers import wait_until
from mariadb_server import MariaDB
from tether_proc import wait_closed_reason


def test_upstream_over_unix_socket(tether, mariadb):
    t = tether(upstream=f"unix:{mariadb.socket}")
    conn = t.connect(program_name="via-unix")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER(), CONNECTION_ID()")
            user, tid = cur.fetchone()
        assert user == "app@%"
        assert t.connection_by_thread(tid)["user"] == "app"
    finally:
        conn.close()
    wait_until(lambda: tid not in mariadb.thread_ids(), 5, "backend session gone")


@pytest.fixture
def own_mariadb():
    db = MariaDB().start()
    yield db
    db.stop()


def test_upstream_shutdown_and_restart(tether, own_mariadb):
    db = own_mariadb
    t = tether(upstream=f"127.0.0.1:{db.port}", connect_timeout="2s")
    t.wait_ready()
    conns = [t.connect(program_name="restart") for _ in range(3)]
    for c in conns:
        c.ping(reconnect=False)

    db.shutdown()
    # every session is closed by tether once its backend went away
    wait_until(lambda: t.connections() == [], 10, "all sessions closed after the server shut down")
    wait_closed_reason(t, "upstream_closed", 3)
    for c in conns:
        with pytest.raises(pymysql.err.OperationalError) as e:
            with c.cursor() as cur:
                cur.execute("SELECT 1")
        # 2006/2013 (connection lost) or the server's own 1053 "shutdown in progress"
        assert e.value.args[0] in (2006, 2013, 1053), e.value.args
    with pytest.raises(pymysql.err.OperationalError) as e:
        t.connect(connect_timeout=15)
    assert e.value.args[0] == 9001, e.value.args
    wait_until(lambda: t.http("GET", "/readyz")[0] == 503, 15, "/readyz 503 while the server is down")
    assert t.alive()
    assert t.metrics().value("tether_upstream_connections") == 0

    db.restart()
    conn = t.connect(program_name="restart")  # no tether restart needed
    with conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone() == ("app@%",)
    conn.close()
    t.wait_ready()
