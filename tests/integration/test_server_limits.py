"""Server-side refusals after the greeting (per-user connection caps) and many sessions at once."""
import threading

import pymysql
import pytest

from helpers import wait_until


@pytest.fixture
def capped_user(mariadb):
    mariadb.sql("CREATE USER 'capped'@'%' IDENTIFIED BY 'cappedpw' WITH MAX_USER_CONNECTIONS 2")
    mariadb.sql("GRANT SELECT ON tether_test.* TO 'capped'@'%'")
    yield "capped"
    mariadb.sql("DROP USER 'capped'@'%'")


def test_server_user_connection_cap_passes_through(tether, mariadb, capped_user):
    t = tether()
    held = [t.connect(user="capped", password="cappedpw", program_name="capped-app") for _ in range(2)]
    try:
        with pytest.raises(pymysql.err.OperationalError) as e:
            t.connect(user="capped", password="cappedpw", program_name="capped-app")
        # the server refuses: 1226 (per-user MAX_USER_CONNECTIONS) or 1203 (global max_user_connections)
        assert e.value.args[0] in (1226, 1203), e.value.args
        wait_until(lambda: t.metrics().value("tether_client_connections", client="capped-app",
                                             user="capped") == 2, 5, "still exactly 2 counted")
        wait_until(lambda: t.metrics().value("tether_upstream_connections") == 2, 5,
                   "the refused login's upstream connection closed")
        for c in held:
            c.ping(reconnect=False)
    finally:
        for c in held:
            c.close()
    conn = t.connect(user="capped", password="cappedpw")
    conn.close()


def test_150_sessions_at_once(tether, mariadb):
    # 150 logins at the same moment, default flags: more than --max-handshakes (64) at once; the rest
    # wait for a slot in the handshake queue instead of being refused.
    t = tether()
    conns, errors = [], []
    lock = threading.Lock()

    def open_one():
        try:
            c = t.connect(program_name="crowd", connect_timeout=30)
            with lock:
                conns.append(c)
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=open_one) for _ in range(150)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    try:
        assert not errors, errors[:3]
        assert len(conns) == 150
        wait_until(lambda: t.metrics().value("tether_client_connections", client="crowd", user="app") == 150,
                   10, "150 sessions counted")
        assert len(t.connections()) == 150
        tids = {c["upstream_thread_id"] for c in t.connections()}
        assert len(tids) == 150 and tids <= mariadb.thread_ids("app")
        for c in conns[::10]:
            c.ping(reconnect=False)
    finally:
        for c in conns:
            c.close()
    wait_until(lambda: t.metrics().value("tether_upstream_connections") == 0, 15, "all closed")
    wait_until(lambda: not (tids & mariadb.thread_ids()), 15, "all backend sessions ended")
