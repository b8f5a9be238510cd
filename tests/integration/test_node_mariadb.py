"""The npm `mariadb` connector through tether with its defaults: pipelining on (a Promise.all of 50
queries on one connection), binary execute(), bulk batch(), a transaction, USE as SQL; the session
stays tracked to the end and a killed client's server thread is gone at once with COM_QUIT."""
import signal

import pytest

from helpers import wait_until
from node_support import NodeScript


@pytest.fixture
def node_mariadb(tether):
    t = tether()
    script = NodeScript(t.port, "mariadb_session.js", "mariadb")
    yield t, script.proc, script.until, script.resume
    script.kill()


def tracked(t, tid):
    """The session's /connections row; it must still be tracked (not relaying)."""
    session = t.connection_by_thread(tid)
    assert session is not None, f"no /connections row for thread {tid}"
    assert session["state"] in ("idle", "query"), f"session not tracked: {session}"
    return session


def test_mariadb_connector_pipelining_batch_execute(node_mariadb, mariadb):
    t, proc, until, resume = node_mariadb
    first = until("pipelined")
    tid = first["id"]
    assert first["ns"] == list(range(50))
    assert until("execute") == {"answer": 42, "twice": [2 * i for i in range(30)]}
    assert until("batch") == {"affected": 200, "rows": 200}

    until("in_transaction")
    session = wait_until(lambda: (s := tracked(t, tid))["state"] == "idle" and s, 5, "idle")
    assert session["client"] == "node-mariadb" and session["user"] == "app", session
    assert session["in_transaction"] is True, session
    resume()
    until("committed")
    session = tracked(t, tid)
    assert session["state"] == "idle" and session["in_transaction"] is False, session
    resume()

    # USE as SQL: the connector agrees CLIENT_SESSION_TRACK, the OK names the new schema
    assert until("used") == "information_schema"
    assert tracked(t, tid)["database"] == "information_schema"
    resume()

    until("idle")
    wait_until(lambda: tracked(t, tid)["state"] == "idle", 5, "idle after the second pipeline")
    m = t.metrics()
    assert m.sum("tether_protocol_desyncs_total") == 0, m.series("tether_protocol_desyncs_total")

    # The client dies without a word: tether ends the server side with COM_QUIT at once.
    aborted = mariadb.status("Aborted_clients")
    assert tid in mariadb.thread_ids()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    wait_until(lambda: tid not in mariadb.thread_ids(), 2, f"server thread {tid} gone")
    assert mariadb.status("Aborted_clients") == aborted, "the backend was closed without COM_QUIT"
    m = t.metrics()
    assert m.value("tether_orphans_closed_total") == 1
    assert m.value("tether_connections_closed_total", reason="client_closed") == 1
