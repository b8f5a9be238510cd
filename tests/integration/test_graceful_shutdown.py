"""Graceful shutdown (issue 3): SIGTERM or POST /quitquitquit stops accepting at once, /readyz
answers 503 at once, open sessions keep working until they end or --shutdown-grace passes, then
what is left is closed (COM_QUIT upstream, reason shutdown) and tether exits 0; it exits at once
when the last session ends earlier; a second SIGTERM closes everything at once."""
import http.client
import signal
import threading
import time

import pymysql

from helpers import wait_until
from policy_support import (assert_connection_dead, log_events, new_connection_outcome, query,
                            thread_id, wait_exit)

REFUSED = ("refused", "closed", "error-packet")


def _readyz(t):
    return t.http("GET", "/readyz", timeout=2)[0]


def _start_query(conn, sql):
    result = {}

    def run():
        try:
            result["rows"] = query(conn, sql)
        except Exception as e:  # reported by the test
            result["error"] = e
        result["done_at"] = time.monotonic()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, result


def _wait_sql_running(mariadb, tid, text="SELECT SLEEP"):
    wait_until(lambda: any(r["ID"] == tid and (r["INFO"] or "").startswith(text)
                           for r in mariadb.processlist("app")), 5, f"{text} to run on thread {tid}")


def _assert_refusing_new_connections(t):
    outcome = new_connection_outcome(t.host, t.port)
    assert outcome in REFUSED, f"a new connection during the drain was not refused: {outcome}"


def test_sigterm_drains_then_closes_at_grace(tether, mariadb):
    baseline = mariadb.thread_ids("app")
    t = tether(shutdown_grace="6s")
    t.wait_ready()
    busy = t.connect(program_name="drain-busy")
    idle = t.connect(program_name="drain-idle")
    busy_tid, idle_tid = thread_id(busy), thread_id(idle)
    ids = {str(t.connection_by_thread(tid)["id"]) for tid in (busy_tid, idle_tid)}
    aborted = mariadb.status("Aborted_clients")

    th, result = _start_query(busy, "SELECT SLEEP(3)")
    _wait_sql_running(mariadb, busy_tid)
    t.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    wait_until(lambda: _readyz(t) == 503, 1.0, "/readyz to answer 503 right after SIGTERM")
    _assert_refusing_new_connections(t)
    # an open session keeps working during the drain
    assert query(idle, "SELECT 1") == ((1,),)

    th.join(15)
    assert not th.is_alive(), "SELECT SLEEP(3) did not return during the drain"
    assert "error" not in result, f"the query in flight at SIGTERM failed: {result['error']!r}"
    assert result["rows"] == ((0,),), result
    if time.monotonic() - t0 < 4.5:  # well before the 6 s grace: both sessions still open
        assert t.alive(), "tether exited before --shutdown-grace with sessions open"
        assert len(t.connections()) == 2, t.connections()
        assert query(busy, "SELECT 2") == ((2,),)

    rc = wait_exit(t, max(0.5, 6 + 3 - (time.monotonic() - t0)))
    assert rc == 0, f"exit code {rc}"
    closed = log_events(t, "session_closed", reason="shutdown")
    assert {r.get("id") for r in closed} == ids, \
        f"expected both sessions closed with reason=shutdown, got {closed}"
    wait_until(lambda: not ({busy_tid, idle_tid} & mariadb.thread_ids()), 5,
               "the backend sessions to end")
    assert mariadb.thread_ids("app") <= baseline, \
        f"server rows from tether left behind: {mariadb.processlist('app')}"
    assert mariadb.status("Aborted_clients") == aborted, \
        "server counted aborted clients: tether did not send COM_QUIT at the end of the grace"
    assert_connection_dead(busy, "busy session after shutdown")
    assert_connection_dead(idle, "idle session after shutdown")


def test_exits_when_last_client_leaves_during_drain(tether, mariadb):
    t = tether(shutdown_grace="30s")
    first = t.connect(program_name="drain-first")
    last = t.connect(program_name="drain-last")
    tids = {thread_id(first), thread_id(last)}
    t.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: _readyz(t) == 503, 1.0, "/readyz to answer 503 right after SIGTERM")
    first.close()
    wait_until(lambda: len(t.connections()) == 1, 5, "one session left")
    assert t.alive(), "tether exited while a session was still open"
    assert query(last, "SELECT 1") == ((1,),)
    last.close()
    closed_at = time.monotonic()
    rc = wait_exit(t, 3)
    assert rc == 0, f"exit code {rc}"
    assert time.monotonic() - closed_at < 3
    assert not log_events(t, "session_closed", reason="shutdown"), \
        "a session was closed by the shutdown although the client ended it"
    wait_until(lambda: not (tids & mariadb.thread_ids()), 5, "the backend sessions to end")


def test_quitquitquit_starts_the_drain(tether, mariadb):
    t = tether(shutdown_grace="30s")
    t.wait_ready()
    conn = t.connect(program_name="quit-client")
    tid = thread_id(conn)
    status, _, body = t.http("POST", "/quitquitquit", body=b"")
    assert status == 200, (status, body)
    wait_until(lambda: _readyz(t) == 503, 1.0, "/readyz to answer 503 right after /quitquitquit")
    _assert_refusing_new_connections(t)
    assert t.alive()
    assert query(conn, "SELECT 1") == ((1,),)
    assert len(t.connections()) == 1
    conn.close()
    rc = wait_exit(t, 3)
    assert rc == 0, f"exit code {rc}"
    wait_until(lambda: tid not in mariadb.thread_ids(), 5, "the backend session to end")


def test_quitquitquit_with_nothing_open_answers_then_exits(tether):
    t = tether(shutdown_grace="30s")
    try:
        status, _, body = t.http("POST", "/quitquitquit", body=b"")
    except (http.client.HTTPException, ConnectionError) as e:
        raise AssertionError(f"POST /quitquitquit got no answer ({e!r}); tether alive: {t.alive()}")
    assert status == 200, (status, body)
    rc = wait_exit(t, 3)
    assert rc == 0, f"exit code {rc}"


def test_second_sigterm_closes_everything_at_once(tether, mariadb):
    t = tether(shutdown_grace="30s")
    idle = t.connect(program_name="twice-idle")
    busy = t.connect(program_name="twice-busy")
    idle_tid, busy_tid = thread_id(idle), thread_id(busy)
    th, result = _start_query(busy, "SELECT SLEEP(30)")
    try:
        _wait_sql_running(mariadb, busy_tid)
        t.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: _readyz(t) == 503, 1.0, "/readyz to answer 503 right after SIGTERM")
        assert t.alive()
        t.proc.send_signal(signal.SIGTERM)
        rc = wait_exit(t, 3)
        assert rc == 0, f"exit code {rc} after the second SIGTERM"
        wait_until(lambda: "done_at" in result, 5, "the client of the cut query to see the end")
        assert "error" in result, f"the query in flight returned {result!r} after a forced stop"
        assert isinstance(result["error"], (pymysql.err.MySQLError, OSError)), result
        wait_until(lambda: idle_tid not in mariadb.thread_ids(), 5, "the idle backend session to end")
        assert_connection_dead(idle, "idle session after the second SIGTERM")
    finally:
        th.join(0.1)
        if busy_tid in mariadb.thread_ids():  # do not leave the SLEEP running on the shared server
            try:
                mariadb.sql(f"KILL {int(busy_tid)}")
            except pymysql.err.MySQLError:
                pass
