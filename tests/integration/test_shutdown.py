"""SIGTERM / SIGINT with open sessions: every session closed cleanly (COM_QUIT upstream), exit 0."""
import signal

import pymysql
import pytest

from helpers import wait_until


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_with_open_sessions(tether, mariadb, sig):
    t = tether()
    conns = [t.connect(program_name=f"shut-{i}") for i in range(3)]
    tids = []
    for c in conns:
        with c.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            tids.append(cur.fetchone()[0])
    with conns[0].cursor() as cur:  # one of them inside a transaction
        cur.execute("BEGIN")
        cur.execute("INSERT INTO items (name) VALUES ('shutdown-row')")
    assert set(tids) <= mariadb.thread_ids("app")
    aborted = mariadb.status("Aborted_clients")

    rc = t.stop(sig, timeout=15)
    t.stopped_by_test = True
    assert rc == 0, f"exit code {rc} after {sig.name}"

    wait_until(lambda: not (set(tids) & mariadb.thread_ids()), 5,
               "all backend sessions gone after shutdown")
    assert mariadb.status("Aborted_clients") == aborted, \
        "server counted aborted clients: tether did not send COM_QUIT upstream on shutdown"
    assert mariadb.sql("SELECT COUNT(*) FROM tether_test.items WHERE name='shutdown-row'") == ((0,),)
    for c in conns:
        with pytest.raises(pymysql.err.OperationalError) as e:
            with c.cursor() as cur:
                cur.execute("SELECT 1")
        assert e.value.args[0] in (2006, 2013), e.value.args
    log = t.log()
    assert log.strip(), "nothing logged"


def test_sigterm_idle_exits_0_and_frees_ports(tether):
    t = tether()
    port, admin = t.port, t.admin_port
    assert t.stop() == 0
    t.stopped_by_test = True
    # both ports are free again: a new tether can take them
    t2 = tether(listen=f"127.0.0.1:{port}", admin=f"127.0.0.1:{admin}")
    conn = t2.connect()
    conn.close()


def test_sigterm_with_query_in_flight(tether, mariadb):
    """A query running on the server when tether is told to stop: tether still exits 0 and leaves
    no session behind once the query ends."""
    import threading
    t = tether()
    conn = t.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        tid = cur.fetchone()[0]
    result = {}

    def run():
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT SLEEP(2)")
                result["rows"] = cur.fetchall()
        except Exception as e:
            result["error"] = e

    th = threading.Thread(target=run)
    th.start()
    wait_until(lambda: any((r["INFO"] or "").startswith("SELECT SLEEP") for r in mariadb.processlist("app")),
               5, "the SLEEP to run")
    rc = t.stop(signal.SIGTERM, timeout=15)
    t.stopped_by_test = True
    th.join(15)
    assert rc == 0
    wait_until(lambda: tid not in mariadb.thread_ids(), 10, "backend session gone")
