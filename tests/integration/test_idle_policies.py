"""Idle sessions: leak suspects, idle-in-transaction detection, --idle-timeout and
--idle-in-transaction-timeout (issue 3 contract: close reason idle_timeout, never while a command
is in flight, COM_QUIT upstream so the server's Aborted_clients does not rise)."""
import threading
import time

import pytest
import uuid

from helpers import wait_until
from policy_support import (assert_connection_dead, log_events, metric, query, thread_id,
                            wait_metric, wait_session_gone)
from tether_proc import closed_counts, wait_closed_reason


# A short drain, so that a failing test's open sessions do not hold up the fixture's SIGTERM.
FAST_STOP = {"shutdown_grace": "3s"}


@pytest.fixture(autouse=True)
def _remove_rows(mariadb):
    # Other tests count the rows of tether_test.items: leave it as it was.
    yield
    mariadb.sql("DELETE FROM tether_test.items WHERE name LIKE 'leak-%%'")


def _unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_idle_in_transaction_is_detected(tether, mariadb):
    t = tether(**FAST_STOP, leak_idle_threshold="1s", leak_report_interval="1s")
    row = _unique("leak-upd")
    mariadb.sql("INSERT INTO tether_test.items (name, qty) VALUES (%s, 1)", (row,))

    plain = t.connect(program_name="plain-idle")
    plain_tid = thread_id(plain)
    holder = t.connect(program_name="txn-holder")
    holder_tid = thread_id(holder)
    query(holder, "BEGIN")
    query(holder, "UPDATE items SET qty = qty + 100 WHERE name = %s", (row,))
    query(holder, "INSERT INTO items (name) VALUES (%s)", (_unique("leak-ins"),))
    last_command = time.monotonic()

    # the series exist for every open client/user pair (value 0 while nothing is suspect)
    m = t.metrics()
    for name in ("tether_leak_suspects", "tether_idle_in_transaction", "tether_client_max_idle_seconds"):
        assert m.get(name, None, client="txn-holder", user="app") is not None, \
            f'{name}{{client="txn-holder",user="app"}} missing while the session is open'
    if time.monotonic() - last_command < 0.5:  # still well below the 1 s threshold
        assert m.get("tether_idle_in_transaction", client="txn-holder", user="app") == 0, \
            "idle-in-transaction reported before the session was idle for --leak-idle-threshold"

    wait_metric(t, "tether_idle_in_transaction", "txn-holder", 1, timeout=10)
    wait_metric(t, "tether_leak_suspects", "txn-holder", 1, timeout=5)
    # the other session is idle too (a suspect) but holds no transaction
    wait_metric(t, "tether_leak_suspects", "plain-idle", 1, timeout=5)
    assert metric(t, "tether_idle_in_transaction", "plain-idle") == 0, \
        "a session idle OUTSIDE a transaction counted as idle-in-transaction"
    assert metric(t, "tether_client_max_idle_seconds", "txn-holder") >= 1.0

    entry = t.connection_by_thread(holder_tid)
    assert entry is not None, t.connections()
    assert entry["in_transaction"] is True, entry
    assert entry["idle_seconds"] >= 1.0, entry
    assert t.connection_by_thread(plain_tid)["in_transaction"] is False
    later = wait_until(
        lambda: (lambda e: e if e["idle_seconds"] >= entry["idle_seconds"] + 0.8 else None)(
            t.connection_by_thread(holder_tid)), 5, "idle_seconds to keep growing")
    assert later["in_transaction"] is True, later
    # the gauge may be refreshed on a tick, but it keeps up with the growing idle time
    wait_until(lambda: metric(t, "tether_client_max_idle_seconds", "txn-holder") >= entry["idle_seconds"],
               5, "tether_client_max_idle_seconds to reach the session's idle_seconds")

    sid = str(entry["id"])
    lines = wait_until(lambda: log_events(t, "leak_suspect", id=sid), 5,
                       f"a leak_suspect log line for session id={sid}")
    rec = lines[0]
    assert rec.get("level", "").lower().startswith("warn"), rec
    assert rec.get("in_transaction") == "true", rec
    assert rec.get("client") == "txn-holder", rec
    assert rec.get("user") == "app", rec
    assert rec.get("database") == "tether_test", rec
    plain_lines = log_events(t, "leak_suspect", id=str(t.connection_by_thread(plain_tid)["id"]))
    assert plain_lines and plain_lines[0].get("in_transaction") == "false", plain_lines

    # the periodic report names the client and its idle-in-transaction count
    wait_until(lambda: log_events(t, "leak_report_client", client="txn-holder", user="app",
                                  idle_in_transaction="1"), 5,
               "a leak_report_client line for txn-holder with idle_in_transaction=1")
    assert log_events(t, "leak_report"), "no leak_report header line"
    # still the same idle period: the suspect line was written once, not on every check
    lines = log_events(t, "leak_suspect", id=sid)
    assert len(lines) == 1, f"leak_suspect logged more than once for one idle period: {lines}"

    # the holder commits: no longer idle in a transaction (it may become a plain suspect again)
    query(holder, "COMMIT")
    wait_metric(t, "tether_idle_in_transaction", "txn-holder", 0, timeout=5)
    assert t.connection_by_thread(holder_tid)["in_transaction"] is False
    holder.close()
    plain.close()
    wait_until(lambda: t.connections() == [], 5, "/connections empty after both clients quit")


def test_idle_in_transaction_timeout_closes_only_transactions(tether, mariadb):
    row = _unique("iit-upd")
    ins = _unique("iit-ins")
    mariadb.sql("INSERT INTO tether_test.items (name, qty) VALUES (%s, 1)", (row,))
    t = tether(**FAST_STOP, idle_in_transaction_timeout="2s")
    aborted = mariadb.status("Aborted_clients")

    plain = t.connect(program_name="iit-plain")  # idle outside a transaction, and idle longer
    plain_tid = thread_id(plain)
    holder = t.connect(program_name="iit-holder")
    holder_tid = thread_id(holder)
    query(holder, "BEGIN")
    query(holder, "UPDATE items SET qty = 999 WHERE name = %s", (row,))
    query(holder, "INSERT INTO items (name) VALUES (%s)", (ins,))

    wait_closed_reason(t, "idle_timeout", 1, timeout=15)
    wait_session_gone(t, mariadb, holder_tid)
    assert_connection_dead(holder, "idle-in-transaction session")
    # the uncommitted work was rolled back (seen from another connection)
    assert mariadb.sql("SELECT qty FROM tether_test.items WHERE name = %s", (row,)) == ((1,),)
    assert mariadb.sql("SELECT COUNT(*) FROM tether_test.items WHERE name = %s", (ins,)) == ((0,),)
    assert mariadb.status("Aborted_clients") == aborted, \
        "server counted an aborted client: tether did not send COM_QUIT before the idle close"

    # the session idle OUTSIDE a transaction outlives the timeout by far and stays open
    wait_until(lambda: t.connection_by_thread(plain_tid)["idle_seconds"] >= 4.5, 10,
               "the plain session to be idle for 4.5 s")
    assert plain_tid in mariadb.thread_ids(), "the non-transaction session was closed upstream"
    assert closed_counts(t).get("idle_timeout") == 1, closed_counts(t)
    assert query(plain, "SELECT 1") == ((1,),)
    plain.close()
    assert log_events(t, "session_closed", reason="idle_timeout", client="iit-holder"), \
        "no session_closed log line with reason=idle_timeout for the holder"


def test_idle_timeout_never_cuts_a_command_in_flight(tether, mariadb):
    t = tether(**FAST_STOP, idle_timeout="2s")
    aborted = mariadb.status("Aborted_clients")
    sleeper = t.connect(program_name="long-query")
    sleeper_tid = thread_id(sleeper)
    result = {}

    def run():
        try:
            result["rows"] = query(sleeper, "SELECT SLEEP(6)")
        except Exception as e:  # reported below
            result["error"] = e
        result["done_at"] = time.monotonic()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    started = time.monotonic()
    wait_until(lambda: any((r["INFO"] or "").startswith("SELECT SLEEP")
                           for r in mariadb.processlist("app")), 5, "the SLEEP to run")

    # an idle session opened now is closed while the SLEEP is still in flight
    victim = t.connect(program_name="idle-victim")
    victim_tid = thread_id(victim)
    wait_closed_reason(t, "idle_timeout", 1, timeout=10)
    wait_session_gone(t, mariadb, victim_tid)
    assert_connection_dead(victim, "idle session")

    # the SLEEP has now been in flight for longer than the idle timeout, and is untouched
    wait_until(lambda: time.monotonic() - started >= 3.5 or "done_at" in result, 10,
               "the SLEEP to be in flight for 3.5 s")
    assert "error" not in result, f"the long query failed: {result.get('error')!r}"
    assert sleeper_tid in mariadb.thread_ids(), "the session with a command in flight was closed"
    th.join(15)
    assert not th.is_alive(), "SELECT SLEEP(6) did not return"
    assert "error" not in result, f"the long query failed: {result['error']!r}"
    assert result["rows"] == ((0,),), result
    # just after its result the session is still open (idle counts from the end of the command)
    if time.monotonic() - result["done_at"] < 1.0:
        assert t.connection_by_thread(sleeper_tid) is not None, \
            "the session was closed as soon as its long command ended"
    assert closed_counts(t).get("idle_timeout") == 1, closed_counts(t)

    # afterwards it is idle and the timeout may close it
    wait_closed_reason(t, "idle_timeout", 2, timeout=10)
    wait_session_gone(t, mariadb, sleeper_tid)
    assert_connection_dead(sleeper, "formerly busy session")
    assert mariadb.status("Aborted_clients") == aborted, \
        "server counted aborted clients: tether did not send COM_QUIT before the idle close"


def test_active_client_is_not_idle_closed(tether, mariadb):
    t = tether(**FAST_STOP, idle_timeout="2s")
    busy = t.connect(program_name="busy-client")
    busy_tid = thread_id(busy)
    control = t.connect(program_name="idle-control")
    control_tid = thread_id(control)
    deadline = time.monotonic() + 5.0
    n = 0
    while time.monotonic() < deadline:
        assert query(busy, "SELECT %s", (n,)) == ((n,),)
        n += 1
        time.sleep(0.5)
    assert n >= 5
    # the timeout is in force: the untouched control session was closed meanwhile
    wait_closed_reason(t, "idle_timeout", 1, timeout=5)
    wait_session_gone(t, mariadb, control_tid)
    assert t.connection_by_thread(busy_tid) is not None, "the active client was closed"
    assert busy_tid in mariadb.thread_ids()
    assert closed_counts(t).get("idle_timeout") == 1, closed_counts(t)
    assert query(busy, "SELECT 1") == ((1,),)
    busy.close()
