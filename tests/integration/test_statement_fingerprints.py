"""Statement fingerprints: /connections and the leak log name what each session last ran, as a
fingerprint with every literal replaced by ?, from text queries and from server-side prepared
statements of real drivers (PyMySQL, mysql2, the npm mariadb connector). No literal of the test's
statements may appear anywhere in tether's output."""
import subprocess

import pytest

from helpers import wait_until
from incident_support import LineReader, build_java, events
from node_support import NodeScript

# Numbers of ten digits: a shorter one can turn up inside a port, an id or a byte count.
SECRETS = ("node-secret-literal", "1938274655", "query-secret-literal", "1827364509", "py-secret-literal", "1726354093")


def row_of(t, thread_id):
    return wait_until(lambda: t.connection_by_thread(thread_id), 5, f"/connections row for thread {thread_id}")


def assert_no_secret(t):
    """Nothing tether wrote or serves holds a literal of the test's statements."""
    _, _, connections = t.http("GET", "/connections")
    for where, text in (("log", t.log()), ("/connections", connections.decode()), ("/metrics", t.metrics_text())):
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} in tether's {where}"


def test_text_query_fingerprint_and_commands(tether):
    t = tether()
    c = t.connect(program_name="py-fingerprints")
    try:
        with c.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            (tid,) = cur.fetchone()
            row = row_of(t, tid)
            assert row["last_statement"] == "SELECT CONNECTION_ID()", row
            cur.execute("SELECT name,  qty FROM items\n WHERE name = 'py-secret-literal' /* who */ AND qty < 1726354093")
            cur.fetchall()
        c.ping()  # a pool's validation: not a statement, but a command
        row = row_of(t, tid)
        assert row["last_statement"] == "SELECT name, qty FROM items WHERE name = ? AND qty < ?", row
        commands = row["commands"]
        assert commands >= 3, row  # PyMySQL's setup (SET autocommit...), two queries, the ping
        c.ping()
        assert row_of(t, tid)["commands"] == commands + 1
        assert row["leak_suspect"] is False
        assert_no_secret(t)
    finally:
        c.close()


def test_fingerprints_off_records_nothing(tether):
    t = tether(statement_fingerprints="off")
    c = t.connect(program_name="py-fingerprints-off")
    try:
        with c.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID(), 'py-secret-literal'")
            tid = cur.fetchone()[0]
        row = row_of(t, tid)
        assert row["last_statement"] is None, row
        assert row["commands"] >= 1, row
    finally:
        c.close()


@pytest.mark.parametrize("driver", ["mysql2", "mariadb"])
def test_prepared_statements_of_node_drivers(tether, driver):
    t = tether()
    node = NodeScript(t.port, "statements_session.js", driver, args=[driver])
    try:
        tid = node.until("executed")
        row = row_of(t, tid)
        assert row["last_statement"] == "SELECT name FROM items WHERE qty > ? AND name <> ?", row
        node.resume()
        node.until("queried")
        row = row_of(t, tid)
        assert row["last_statement"] == "SELECT COUNT(*) AS n FROM items WHERE name = ? OR qty = ?", row
        assert_no_secret(t)
        node.resume()
        node.until("done")
    finally:
        node.kill()


def test_pool_per_request_suspects_name_their_statement(tether, tmp_path):
    """The second incident's program (a new HikariCP pool per request, never closed) behind tether:
    each request runs one statement on one of its pool's connections; the other connections of the
    pool only ever ran what the driver and the pool send when they open one. The leak report says
    how many suspects last ran which fingerprint, and /connections shows it on every row."""
    client = "report-service"
    query = "SELECT CONNECTION_ID(), name FROM items WHERE name <> 'java-secret-literal' AND qty < 1726354093"
    fingerprint = "SELECT CONNECTION_ID(), name FROM items WHERE name <> ? AND qty < ?"
    cp = build_java("LeakyPools", tmp_path / "classes")
    t = tether(leak_idle_threshold="1s", leak_report_interval="1s")
    url = f"jdbc:mariadb://{t.host}:{t.port}/tether_test?connectionAttributes=program_name:{client}"
    pools, size = 4, 3
    java = subprocess.Popen(["java", "-Xss512k", "-XX:TieredStopAtLevel=1", "-cp", cp, "LeakyPools", url, "app",
                             "apppw", "100", str(size), str(pools), query],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = LineReader(java.stdout)
    try:
        try:
            wait_until(lambda: len(out.matching("OK ")) == pools, 30, f"{pools} requests done")
        except AssertionError:
            raise AssertionError(f"the Java program: {out.snapshot()[-8:]}")

        def all_suspect():
            rows = [r for r in t.connections() if r["client"] == client]
            return rows if len(rows) == pools * size and all(r["leak_suspect"] for r in rows) else None
        rows = wait_until(all_suspect, 15, f"{pools * size} suspects of {client} on /connections")
        ran = [r for r in rows if r["last_statement"] == fingerprint]
        assert len(ran) == pools, [r["last_statement"] for r in rows]  # one connection a request
        for r in rows:
            assert r["commands"] >= 1, r  # the driver's own setup, at least
        others = {r["last_statement"] for r in rows if r not in ran}
        # The report: the request's statement on 4 of the 12 suspects, and what the idle ones last ran.
        lines = wait_until(lambda: events(t, "leak_report_statement", client=client, of=pools * size), 10,
                           f"leak_report_statement lines for {client}")
        by_statement = {ln.get("statement"): int(ln.get("suspects")) for ln in lines[-min(3, len(lines)):]}
        assert by_statement.get(fingerprint) == pools, [ln.raw for ln in lines]
        print(f"\n[fingerprints] {client}: {pools} of {pools * size} suspects last ran {fingerprint!r}; "
              f"the others last ran {sorted(map(str, others))}")
        for where, text in (("log", t.log()), ("/metrics", t.metrics_text())):
            for literal in ("java-secret-literal", "1726354093"):
                assert literal not in text, f"{literal!r} in tether's {where}"
    finally:
        java.kill()
        java.wait(10)


def test_suspects_that_never_ran_a_command_are_named_as_such(tether):
    """A pool that opened connections and never used them (the signature of a pool built per
    request): its suspects ran nothing after login, and the leak report says so."""
    client = "idle-pool"
    t = tether(leak_idle_threshold="1s", leak_report_interval="1s")
    # autocommit=None: PyMySQL sends nothing at all after its login
    conns = [t.connect(program_name=client, autocommit=None) for _ in range(2)]
    try:
        def suspects():
            rows = [r for r in t.connections() if r["client"] == client]
            return rows if len(rows) == 2 and all(r["leak_suspect"] for r in rows) else None
        for row in wait_until(suspects, 10, f"2 suspects of {client}"):
            assert row["commands"] == 0 and row["last_statement"] is None, row
        line = wait_until(lambda: events(t, "leak_report_statement", client=client, of=2), 10,
                          f"a leak_report_statement line for {client}")[-1]
        assert line.get("statement") == "(no command since login)" and line.get("suspects") == "2", line.raw
    finally:
        for c in conns:
            c.close()
