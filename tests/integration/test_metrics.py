"""Counters and gauges against what actually happened; series removal; fd leaks."""
from helpers import wait_until


def gauge(t, **labels):
    return t.metrics().value("tether_client_connections", **labels)


def test_gauge_series_removed_at_zero(tether):
    t = tether()
    a = t.connect(program_name="series-test")
    b = t.connect(program_name="series-test")
    wait_until(lambda: gauge(t, client="series-test", user="app") == 2, 5, "gauge == 2")
    m = t.metrics()
    assert m.value("tether_connections_opened_total", client="series-test", user="app") == 2
    assert m.value("tether_upstream_connections") == 2
    a.close()
    wait_until(lambda: gauge(t, client="series-test", user="app") == 1, 5, "gauge == 1")
    b.close()
    wait_until(lambda: not t.metrics().has("tether_client_connections", client="series-test", user="app"),
               5, "the series to disappear at 0 (not linger with value 0)")
    m = t.metrics()
    assert m.value("tether_upstream_connections") == 0
    # counters keep their value
    assert m.value("tether_connections_opened_total", client="series-test", user="app") == 2
    assert m.value("tether_connections_closed_total", reason="client_quit") == 2
    assert m.value("tether_connection_duration_seconds_count") == 2


def test_gauges_match_server_under_churn(tether, mariadb):
    t = tether()
    held = [t.connect(program_name="holder") for _ in range(5)]
    for i in range(20):
        c = t.connect(program_name="churn", user="other", password="otherpw")
        with c.cursor() as cur:
            cur.execute("SELECT 1")
        c.close()
    wait_until(lambda: gauge(t, client="holder", user="app") == 5, 5, "holder gauge == 5")
    wait_until(lambda: not t.metrics().has("tether_client_connections", client="churn", user="other"),
               5, "churn series removed")
    m = t.metrics()
    assert m.value("tether_connections_opened_total", client="churn", user="other") == 20
    assert m.value("tether_upstream_connections") == 5
    assert len(t.connections()) == 5
    # the server agrees: 5 sessions for app via tether, none left for other
    wait_until(lambda: len(mariadb.thread_ids("other")) == 0, 5, "no 'other' sessions on the server")
    tids = {c["upstream_thread_id"] for c in t.connections()}
    assert tids <= mariadb.thread_ids("app")
    for c in held:
        c.close()
    wait_until(lambda: t.metrics().value("tether_upstream_connections") == 0, 5,
               "upstream gauge back to 0")


def test_no_fd_leak(tether):
    t = tether()
    # warm up (lazy allocations, the admin socket itself)
    for _ in range(3):
        t.connect().close()
    wait_until(lambda: t.metrics().value("tether_upstream_connections") == 0, 5, "warm-up closed")
    # process_* may be sampled by a periodic tick rather than at scrape time: wait for fresh values
    wait_until(lambda: t.metrics().has("process_open_fds"), 5, "a process_open_fds sample")
    base = t.metrics().value("process_open_fds")
    conns = [t.connect() for _ in range(25)]
    wait_until(lambda: t.metrics().value("process_open_fds") >= base + 50, 5,
               f"process_open_fds to reach base {base} + 50 with 25 sessions open (2 sockets each)")
    for i, c in enumerate(conns):
        if i % 2:
            c.close()
        else:
            c._sock.close()
            c._rfile.close()
    wait_until(lambda: t.metrics().value("tether_upstream_connections") == 0, 5, "all closed")
    wait_until(lambda: t.metrics().value("process_open_fds") <= base + 1, 5,
               f"process_open_fds back to ~{base} after all sessions closed "
               f"(now {t.metrics().value('process_open_fds')})")


def test_auth_failure_and_open_counts_are_per_client_and_user(tether):
    t = tether()
    import pymysql
    import pytest
    for user, pw in (("app", "x"), ("other", "y"), ("other", "z")):
        with pytest.raises(pymysql.err.OperationalError):
            t.connect(user=user, password=pw, program_name="mixed")
    ok = t.connect(user="dba", password="dbapw", program_name="mixed", database=None)
    ok.close()
    m = wait_until(lambda: (lambda m: m if m.sum("tether_auth_failures_total") == 3 else None)(t.metrics()),
                   5, "3 auth failures")
    assert m.value("tether_auth_failures_total", client="mixed", user="app") == 1
    assert m.value("tether_auth_failures_total", client="mixed", user="other") == 2
    assert m.value("tether_connections_opened_total", client="mixed", user="dba") == 1
    assert m.sum("tether_connections_opened_total", user="app") == 0


def test_the_configured_caps_are_exported_and_unset_ones_are_not(tether):
    """tether_connection_limit{limit} carries the caps the alerts compare growth against (a client
    heading for its cap); a cap that is not set (0) has no series, so no alert compares against 0."""
    t = tether(max_connections="500", max_connections_per_client="40", max_handshakes="16")
    m = t.metrics()
    assert m.value("tether_connection_limit", limit="total") == 500
    assert m.value("tether_connection_limit", limit="client") == 40
    assert m.value("tether_connection_limit", limit="handshakes") == 16
    assert not m.has("tether_connection_limit", limit="user")
    assert not m.has("tether_connection_limit", limit="handshakes_per_address")
