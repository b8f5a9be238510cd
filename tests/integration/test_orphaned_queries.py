"""Queries of vanished clients are killed through the monitor session (--kill-orphaned-queries):
a client SIGKILLed while `SELECT SLEEP(60)` runs through tether leaves no server thread behind
(control: with the flag off the thread keeps running), a killed client's row locks are released,
an admin close and the end of the shutdown grace with a query in flight do the same, and a monitor
account without the KILL privilege is logged and counted, not retried."""
import signal
import subprocess
import sys
import textwrap
import time

import pymysql

from helpers import wait_until
from mariadb_server import MONITOR_NOKILL_USER, MONITOR_USER

# One client in a process of its own, so it can be SIGKILLed like a crashed app: it prints its
# server thread id, then runs the statements (the last one long).
CLIENT = textwrap.dedent("""
    import sys, pymysql
    conn = pymysql.connect(host="127.0.0.1", port=int(sys.argv[1]), user="app", password="apppw",
                           database="tether_test", program_name="doomed", autocommit=True)
    cur = conn.cursor()
    cur.execute("SELECT CONNECTION_ID()")
    print(cur.fetchone()[0], flush=True)
    for sql in sys.argv[2:]:
        cur.execute(sql)
""")


def monitored(tether, user=MONITOR_USER, **flags):
    name, pw = user
    t = tether(monitor_user=name, monitor_interval="200ms", _env={"TETHER_MONITOR_PASSWORD": pw}, **flags)
    wait_until(lambda: t.metrics().get("tether_monitor_up") == 1, 10, "tether_monitor_up 1")
    return t


def start_client(t, *statements):
    proc = subprocess.Popen([sys.executable, "-c", CLIENT, str(t.port), *statements], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip().isdigit(), proc.stderr.read()
    return proc, int(line)


def running(mariadb, thread_id):
    return [r for r in mariadb.processlist() if r["ID"] == thread_id]


def wait_query_running(mariadb, thread_id, text="SLEEP"):
    wait_until(lambda: any(text in (r["INFO"] or "") for r in running(mariadb, thread_id)), 10,
               f"thread {thread_id} running its query")


def test_a_sigkilled_client_mid_query_leaves_no_server_thread(tether, mariadb):
    t = monitored(tether)
    proc, thread = start_client(t, "SELECT SLEEP(60)")
    wait_query_running(mariadb, thread)
    killed_at = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    wait_until(lambda: not running(mariadb, thread), 2, f"server thread {thread} gone within 2 s of the client's death")
    print(f"client death to server thread gone: {time.monotonic() - killed_at:.3f} s")
    wait_until(lambda: t.metrics().get("tether_orphaned_queries_killed_total") == 1, 5, "the KILL counted")
    assert "orphaned_query_killed" in t.log()


def test_control_without_kill_the_thread_keeps_running(tether, mariadb):
    t = monitored(tether, kill_orphaned_queries="false")
    proc, thread = start_client(t, "SELECT SLEEP(60)")
    wait_query_running(mariadb, thread)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    wait_until(lambda: "orphaned_query" not in t.log() and t.connections() == [], 5, "tether closed the session")
    time.sleep(3)
    assert running(mariadb, thread), "closing the socket alone does not stop the query"
    mariadb.sql(f"KILL {thread}")  # tidy up for the tests after this one


def test_a_killed_clients_row_locks_are_released(tether, mariadb):
    t = monitored(tether)
    proc, thread = start_client(t, "BEGIN", "UPDATE items SET qty = qty + 1 WHERE id = 1", "SELECT SLEEP(60)")
    wait_query_running(mariadb, thread)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    other = t.connect(program_name="next-in-line")
    try:
        with other.cursor() as cur:
            cur.execute("SET SESSION innodb_lock_wait_timeout = 3")
            start = time.monotonic()
            cur.execute("UPDATE items SET qty = qty WHERE id = 1")  # waits for the lock, at most 3 s
            print(f"the row was free {time.monotonic() - start:.3f} s after the other session asked")
    finally:
        other.close()


def test_an_admin_close_with_a_query_in_flight_kills_it(tether, mariadb):
    t = monitored(tether)
    proc, thread = start_client(t, "SELECT SLEEP(60)")
    try:
        wait_query_running(mariadb, thread)
        row = t.connection_by_thread(thread)
        status, _, _ = t.http("POST", f"/connections/{row['id']}/close")
        assert status == 200
        wait_until(lambda: not running(mariadb, thread), 3, f"server thread {thread} gone after the admin close")
    finally:
        proc.kill()
        proc.wait(10)


def test_the_end_of_the_shutdown_grace_kills_the_query_still_running(tether, mariadb):
    t = monitored(tether, shutdown_grace="1s")
    proc, thread = start_client(t, "SELECT SLEEP(60)")
    try:
        wait_query_running(mariadb, thread)
        t.stopped_by_test = True
        assert t.stop(signal.SIGTERM, timeout=20) == 0
        assert "orphaned_query_killed" in t.log(), t.log()[-3000:]
        wait_until(lambda: not running(mariadb, thread), 3, f"server thread {thread} gone after the grace")
    finally:
        proc.kill()
        proc.wait(10)


def test_a_monitor_account_without_kill_is_logged_and_counted_not_retried(tether, mariadb):
    t = monitored(tether, user=MONITOR_NOKILL_USER)
    proc, thread = start_client(t, "SELECT SLEEP(60)")
    wait_query_running(mariadb, thread)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    wait_until(lambda: t.metrics().get("tether_orphaned_query_kill_failures_total") == 1, 5, "the failed KILL counted")
    time.sleep(1)
    failures = [line for line in t.log().splitlines() if "orphaned_query_kill_failed" in line]
    assert len(failures) == 1, failures
    assert "1095" in failures[0] or "1227" in failures[0], failures[0]  # not your thread / no privilege
    assert t.metrics().get("tether_orphaned_queries_killed_total") == 0
    mariadb.sql(f"KILL {thread}")
