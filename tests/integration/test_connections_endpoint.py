"""GET /connections: one JSON object per client session, with the documented fields."""
import time

from helpers import wait_until

FIELDS = {"id", "client", "user", "database", "peer", "upstream_thread_id", "state", "age_seconds",
          "idle_seconds", "in_transaction", "bytes_from_client", "bytes_from_upstream", "attrs"}


def test_connections_fields(tether, mariadb):
    t = tether()
    assert t.connections() == []
    conn = t.connect(program_name="conn-fields", database="tether_test")
    conn2 = t.connect(user="other", password="otherpw", database=None)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID(), REPEAT('r', 5000)")
            tid = cur.fetchone()[0]
        with conn2.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            tid2 = cur.fetchone()[0]
        conns = t.connections()
        assert len(conns) == 2, conns
        for c in conns:
            assert FIELDS <= set(c), f"missing fields {FIELDS - set(c)} in {c}"
        assert len({c["id"] for c in conns}) == 2, "ids must be distinct"

        c = t.connection_by_thread(tid)
        assert c is not None, f"no entry has upstream_thread_id == CONNECTION_ID() {tid}: {conns}"
        assert c["user"] == "app"
        assert c["database"] == "tether_test"
        assert c["client"] == "conn-fields"
        assert c["in_transaction"] is False
        assert c["attrs"]["program_name"] == "conn-fields"
        assert c["attrs"]["_client_name"] == "pymysql"
        # peer is the client's address (tether 0.1.0 gives the IP only, no port)
        assert str(c["peer"]).startswith("127.0.0.1"), c["peer"]
        assert isinstance(c["age_seconds"], (int, float)) and c["age_seconds"] >= 0
        assert isinstance(c["idle_seconds"], (int, float)) and 0 <= c["idle_seconds"] <= c["age_seconds"] + 1
        assert c["bytes_from_upstream"] > 5000, "the 5000-byte result came from upstream"
        assert c["bytes_from_client"] > 0
        assert isinstance(c["state"], str) and c["state"]
        # the thread id is the server's own
        assert tid in mariadb.thread_ids("app")

        c2 = t.connection_by_thread(tid2)
        assert c2["user"] == "other"
        assert c2["database"] in (None, "")
        assert c2["client"] == "127.0.0.1"
    finally:
        conn.close()
        conn2.close()
    wait_until(lambda: t.connections() == [], 5, "/connections empty after both clients quit")


def test_idle_and_age_grow_and_bytes_count(tether):
    t = tether()
    conn = t.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            tid = cur.fetchone()[0]
        before = t.connection_by_thread(tid)
        time.sleep(1.2)
        idle = t.connection_by_thread(tid)
        assert idle["idle_seconds"] >= before["idle_seconds"] + 0.5, (before, idle)
        assert idle["age_seconds"] >= before["age_seconds"] + 0.5, (before, idle)
        with conn.cursor() as cur:
            cur.execute("SELECT REPEAT('b', 100000), %s", ("c" * 20000,))
            cur.fetchall()
        after = t.connection_by_thread(tid)
        assert after["idle_seconds"] < idle["idle_seconds"], (idle, after)
        assert after["bytes_from_upstream"] >= before["bytes_from_upstream"] + 100000
        assert after["bytes_from_client"] >= before["bytes_from_client"] + 20000
    finally:
        conn.close()


def test_connection_in_flight_query_state(tether):
    """While a query runs, the session is not idle; afterwards it is."""
    import threading
    t = tether()
    conn = t.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        tid = cur.fetchone()[0]
    idle_state = t.connection_by_thread(tid)["state"]
    th = threading.Thread(target=lambda: conn.cursor().execute("SELECT SLEEP(3)"))
    th.start()
    try:
        busy = wait_until(lambda: (lambda c: c if c["state"] != idle_state else None)(
            t.connection_by_thread(tid)), 2.5, f"state to change from {idle_state!r} while a query runs")
        assert busy["idle_seconds"] is not None
    finally:
        th.join(10)
    wait_until(lambda: t.connection_by_thread(tid)["state"] == idle_state, 5,
               f"state back to {idle_state!r} after the query")
    conn.close()
