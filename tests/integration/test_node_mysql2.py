"""A second driver family: Node's mysql2 through tether (binary-protocol prepared statements,
multi-statements, a transaction, COM_CHANGE_USER re-attribution, a pool)."""

import pytest

from helpers import wait_until
from node_support import NodeScript


@pytest.fixture
def node_session(tether):
    t = tether()
    script = NodeScript(t.port, "mysql2_session.js", "mysql2")
    yield t, script.until, script.resume
    script.kill()


def test_mysql2_through_tether(node_session):
    t, until, resume = node_session
    first = until("execute")
    assert first["answer"] == 42
    assert until("execute_again") == {"answer": 100, "id": first["id"]}
    assert until("multi") == [[{"a": 1}], [{"b": 2}]]
    until("in_transaction")
    session = t.connection_by_thread(first["id"])
    assert session["client"] == "node-orders" and session["user"] == "app", session
    assert session["in_transaction"] is True and session["state"] == "idle", session
    assert session["attrs"]["_client_name"] == "Node-MySQL-2", session["attrs"]
    resume()

    # COM_CHANGE_USER moves the session to its new user in /connections and /metrics
    assert until("changed_user") == {"user": "other@%"}
    session = t.connection_by_thread(first["id"])
    assert session["user"] == "other" and session["in_transaction"] is False, session
    m = t.metrics()
    assert m.value("tether_client_connections", client="node-orders", user="other") == 1
    assert not m.has("tether_client_connections", client="node-orders", user="app")
    resume()

    assert until("pool") == [1, 2, 3, 4, 5, 6]
    assert t.metrics().value("tether_client_connections", client="node-pool", user="app") == 3
    resume()
    assert until("done") is True
    wait_until(lambda: not t.metrics().has("tether_client_connections", client="node-pool", user="app"),
               5, "the pool's series gone after pool.end()")
    m = t.metrics()
    # every command and response was followed: nothing fell back to plain relaying
    assert m.sum("tether_protocol_desyncs_total") == 0
    assert m.value("tether_connections_closed_total", reason="client_quit") == 4
