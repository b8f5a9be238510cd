"""A fleet of tethers keeps the server's room (--server-reserve): three tethers with monitor
sessions in front of one MariaDB whose max_connections is low, and a leaking client opening sessions
through all of them. The server's free slots never fall below the reserve minus a small allowance
(the logins the other tethers admit within one monitor interval), refused logins get 1040, an
admin user gets in through any tether, and once the leak stops new logins succeed again. And
--server-connections-by-user shows who holds the server, through tether or not."""
import threading
import time

import pymysql
import pytest

from helpers import wait_until
from mariadb_server import MariaDB, MONITOR_USER

MAX_CONNECTIONS = 40
RESERVE = 8
INTERVAL = "200ms"
# One leaking login every 50 ms across the fleet: 4 per monitor interval, of which the two other
# tethers admit about 3 before a given tether reads the server again.
LEAK_PERIOD_S = 0.05
ALLOWANCE = 3


@pytest.fixture(scope="module")
def small_db():
    db = MariaDB(extra_args=[f"--max-connections={MAX_CONNECTIONS}"]).start()
    try:
        yield db
    finally:
        db.stop()


def fleet_member(tether, db, **flags):
    user, pw = MONITOR_USER
    t = tether(upstream=f"127.0.0.1:{db.port}", monitor_user=user, monitor_interval=INTERVAL,
               server_reserve=str(RESERVE), admin_users="dba", _env={"TETHER_MONITOR_PASSWORD": pw}, **flags)
    wait_until(lambda: t.metrics().get("tether_monitor_up") == 1, 10, "tether_monitor_up 1")
    return t


def test_a_fleet_keeps_the_reserve_for_admin_users(tether, small_db):
    fleet = [fleet_member(tether, small_db) for _ in range(3)]
    lowest = {"free": MAX_CONNECTIONS}
    stop = threading.Event()

    def sample():
        conn = small_db.connect_root()
        try:
            with conn.cursor() as cur:
                while not stop.is_set():
                    cur.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
                    threads = int(cur.fetchone()[1]) - 1  # not this sampler's own
                    lowest["free"] = min(lowest["free"], MAX_CONNECTIONS - threads)
                    time.sleep(0.005)
        finally:
            conn.close()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    leaked, refusals = [], []
    try:
        for i in range(3 * MAX_CONNECTIONS):
            t = fleet[i % 3]
            try:
                leaked.append(t.connect(program_name="leaky-fleet"))
            except pymysql.err.OperationalError as e:
                refusals.append(e.args)
                if len(refusals) >= 9:
                    break
            time.sleep(LEAK_PERIOD_S)
        time.sleep(0.5)
        stop.set()
        sampler.join(5)
        print(f"leaked {len(leaked)}, refused {len(refusals)}, lowest free slots seen {lowest['free']} "
              f"(reserve {RESERVE}: worst overshoot {max(0, RESERVE - lowest['free'])})")
        assert refusals, "the leak was never refused"
        assert all(code == 1040 and "free connections" in message for code, message in refusals), refusals
        assert lowest["free"] >= RESERVE - ALLOWANCE, lowest
        assert sum(t.metrics().sum("tether_rejected_connections_total", limit="server") for t in fleet) == len(refusals)
        # The admin lane: in through every tether while the app is refused.
        for t in fleet:
            dba = t.connect(user="dba", password="dbapw")
            dba.close()
    finally:
        stop.set()
        for c in leaked:
            c.close()
    # The leak stops: once the monitors read the server again, logins succeed.
    for t in fleet:
        wait_until(lambda t=t: _logs_in(t), 5, "a login through every tether after the leak stopped")


def _logs_in(t):
    try:
        t.connect(program_name="after-the-leak").close()
        return True
    except pymysql.err.OperationalError:
        return False


def test_connections_by_user_show_those_that_do_not_come_through_tether(tether, small_db):
    t = fleet_member(tether, small_db, server_connections_by_user="true")
    direct = [pymysql.connect(host="127.0.0.1", port=small_db.port, user="other", password="otherpw") for _ in range(3)]
    through = t.connect(program_name="by-user")
    try:
        wait_until(lambda: t.metrics().get("tether_server_connections", user="other") == 3, 5,
                   "tether_server_connections{user=other} counts the direct connections")
        wait_until(lambda: t.metrics().get("tether_server_connections", user="app") == 1, 5,
                   "and the one through tether")
        assert t.metrics().get("tether_server_connections", user="monitor") == 1  # its own session
    finally:
        for c in direct:
            c.close()
        through.close()
    wait_until(lambda: t.metrics().get("tether_server_connections", user="other") is None, 5,
               "a user gone from the processlist loses its series")


def test_the_reserve_needs_a_monitor_user(mariadb):
    from tether_proc import run_tether
    r = run_tether(["--upstream", f"127.0.0.1:{mariadb.port}", "--server-reserve", "5"])
    assert r.returncode == 2 and "--server-reserve" in r.stderr, r.stderr
