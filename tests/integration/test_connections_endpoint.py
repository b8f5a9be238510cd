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


def test_connections_filters_and_limit_over_many_sessions(tether):
    """?client= ?user= ?state= ?limit=: the lowest ids that match, sorted, with the matched total in
    X-Tether-Total and X-Tether-Truncated saying whether the limit cut it."""
    import json
    import threading
    t = tether(log_level="info")
    conns, errors, lock = [], [], threading.Lock()

    def open_some(n, **kw):
        for _ in range(n):
            try:
                c = t.connect(connect_timeout=30, **kw)
                with lock:
                    conns.append(c)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

    threads = [threading.Thread(target=open_some, args=(22,), kwargs={"program_name": "alpha"}) for _ in range(5)]
    threads += [threading.Thread(target=open_some, args=(14,),
                                 kwargs={"program_name": "beta", "user": "other", "password": "otherpw"})
                for _ in range(5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    busy = None
    try:
        assert not errors, errors[:3]
        assert len(conns) == 180

        def get(query):
            status, headers, body = t.http("GET", "/connections" + query)
            assert status == 200, (query, status, body[:200])
            rows = json.loads(body)
            return rows, int(headers["x-tether-total"]), headers["x-tether-truncated"]

        rows, total, cut = get("")
        assert (len(rows), total, cut) == (180, 180, "false")
        ids = [r["id"] for r in rows]
        assert ids == sorted(ids)

        rows, total, cut = get("?limit=50")
        assert (len(rows), total, cut) == (50, 180, "true")
        assert [r["id"] for r in rows] == ids[:50], "the limit keeps the lowest ids, in order"

        rows, total, cut = get("?client=alpha")
        assert (len(rows), total, cut) == (110, 110, "false")
        assert {r["client"] for r in rows} == {"alpha"} and {r["user"] for r in rows} == {"app"}

        rows, total, cut = get("?user=other&limit=10")
        assert (len(rows), total, cut) == (10, 70, "true")
        assert {r["client"] for r in rows} == {"beta"}

        rows, total, _ = get("?client=beta&user=app")
        assert (rows, total) == ([], 0)
        rows, total, _ = get("?state=idle")
        assert total == 180

        # A session with a query running is "query", and only it.
        busy = threading.Thread(target=lambda: conns[0].cursor().execute("SELECT SLEEP(2)"))
        busy.start()
        rows = wait_until(lambda: get("?state=query")[0], 2, "one session in state query")
        assert len(rows) == 1 and rows[0]["state"] == "query"
        assert get("?state=idle")[1] == 179

        for query, why in (("?limit=0", "limit"), ("?limit=10001", "limit"), ("?state=busy", "state"),
                           ("?sort=id", "unknown parameter"), ("?client=a&client=b", "twice")):
            status, _, body = t.http("GET", "/connections" + query)
            assert status == 400 and why.encode() in body, (query, status, body)
    finally:
        if busy is not None:
            busy.join(10)
        for c in conns:
            c.close()
