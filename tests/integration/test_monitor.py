"""The monitor session (--monitor-user): tether's own login to the real MariaDB, read every
--monitor-interval. Its figures in /metrics against the server's own; readiness without the
reserved-user probe; a wrong password (logged once, backoff, proxying unaffected) and its repair
through the password file; a server restart (reconnect, no storm); TLS like the server leg; and the
monitor's own session never shown as a client."""
import os
import re
import time

import pytest

from helpers import wait_until
from mariadb_server import MariaDB, MONITOR_TLS_USER, MONITOR_USER

RESERVED_DENIED = "Access denied for user 'tether_abort_login'"


def password_file(tmp_path, password, name="monitor-password"):
    """Written as a Kubernetes Secret volume replaces it: a new file renamed over the old one."""
    path = tmp_path / name
    tmp = tmp_path / (name + ".next")
    tmp.write_text(password + "\n")
    os.replace(tmp, path)
    return str(path)


def monitor_up(t):
    return t.metrics().get("tether_monitor_up")


def wait_monitor_up(t, timeout=10):
    wait_until(lambda: monitor_up(t) == 1, timeout, "tether_monitor_up 1")


def reserved_denials(mariadb):
    with open(mariadb.error_log, errors="replace") as f:
        return f.read().count(RESERVED_DENIED)


def log_lines(t, event):
    return [line for line in t.log().splitlines() if f" {event} " in line or line.endswith(f" {event}")]


def test_figures_match_the_server_and_follow_its_clients(tether, mariadb, tmp_path):
    user, pw = MONITOR_USER
    t = tether(monitor_user=user, monitor_interval="200ms", _env={"TETHER_MONITOR_PASSWORD": pw})
    wait_monitor_up(t)
    m = t.metrics()
    assert m.value("tether_server_max_connections") == mariadb.sql("SELECT @@max_connections")[0][0]

    def steady_threads():
        # The server's count, less the root connection that asks for it.
        return mariadb.threads_connected() - 1

    wait_until(lambda: t.metrics().value("tether_server_threads_connected") == steady_threads(), 5,
               "tether_server_threads_connected to match the server's Threads_connected")
    base = t.metrics().value("tether_server_threads_connected")
    conns = [t.connect(program_name="monitor-figures") for _ in range(3)]
    try:
        wait_until(lambda: t.metrics().value("tether_server_threads_connected") == base + 3, 5,
                   "Threads_connected to grow by the three sessions")
        assert t.metrics().value("tether_server_threads_connected") == steady_threads()
    finally:
        for c in conns:
            c.close()
    wait_until(lambda: t.metrics().value("tether_server_threads_connected") == base, 5,
               "Threads_connected back once they closed")
    # The server's own counters, exported as counters.
    aborted = mariadb.status("Aborted_connects")
    wait_until(lambda: t.metrics().value("tether_server_aborted_connects_total") == aborted, 5,
               "tether_server_aborted_connects_total to be the server's Aborted_connects")
    assert t.metrics().value("tether_server_aborted_clients_total") == mariadb.status("Aborted_clients")


def test_the_monitor_is_no_client_and_replaces_the_readiness_probe(tether, mariadb, tmp_path):
    user, pw = MONITOR_USER
    denials = reserved_denials(mariadb)
    t = tether(monitor_user=user, monitor_password_file=password_file(tmp_path, pw), readiness_interval="300ms")
    wait_monitor_up(t)
    t.wait_ready(5)
    # Ten readiness intervals: the probe would have logged in as the reserved user each time.
    time.sleep(3)
    assert t.http("GET", "/readyz")[0] == 200
    assert reserved_denials(mariadb) == denials, "a reserved-user probe ran although a monitor user is set"
    # On the server the monitor is there; in tether it is not a client.
    assert len(mariadb.processlist(user)) == 1
    assert t.connections() == []
    m = t.metrics()
    assert not m.series("tether_client_connections")
    assert not m.series("tether_connections_opened_total")
    assert pw not in t.log()
    # A real client is still listed and counted as before.
    conn = t.connect(program_name="beside-the-monitor")
    try:
        assert [r["client"] for r in t.connections()] == ["beside-the-monitor"]
    finally:
        conn.close()


def test_without_a_monitor_user_nothing_server_side_is_exported(tether):
    t = tether()
    t.wait_ready()
    text = t.metrics_text()
    assert "tether_monitor_up" not in text
    assert "tether_server_" not in text


def test_a_wrong_password_is_logged_once_backs_off_and_a_fixed_file_is_used(tether, mariadb, tmp_path):
    user, pw = MONITOR_USER
    secret_file = password_file(tmp_path, "not-the-password")
    before = mariadb.status("Aborted_connects")
    t = tether(monitor_user=user, monitor_password_file=secret_file)
    wait_until(lambda: log_lines(t, "monitor_down"), 5, "the monitor_down line")
    started = time.monotonic()
    assert monitor_up(t) == 0
    # Proxying is unaffected; readiness says why it is not ready.
    conn = t.connect(program_name="unaffected")
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    conn.close()
    status, _, body = t.http("GET", "/readyz")
    assert status == 503
    assert b"Access denied for user 'monitor'" in body, body
    time.sleep(max(0.0, 6.5 - (time.monotonic() - started)))
    # Backoff 1 s doubling, with jitter: the first attempt and three more in 6.5 s at most.
    attempts = mariadb.status("Aborted_connects") - before
    print(f"{attempts} monitor logins with a wrong password in 6.5 s")
    assert 2 <= attempts <= 4, f"{attempts} failed logins in 6.5 s"
    down = log_lines(t, "monitor_down")
    assert len(down) == 1, down
    assert "1045" in down[0] and "Access denied" in down[0]
    assert "not-the-password" not in t.log()

    password_file(tmp_path, pw)  # the Secret is updated
    wait_monitor_up(t, 8)
    assert log_lines(t, "monitor_password_changed")
    assert log_lines(t, "monitor_up")
    assert len(mariadb.processlist(user)) == 1
    t.wait_ready(5)


@pytest.fixture
def own_mariadb():
    db = MariaDB().start()
    yield db
    db.stop()


def test_a_server_restart_is_followed_without_a_storm(tether, own_mariadb, tmp_path):
    db = own_mariadb
    user, pw = MONITOR_USER
    t = tether(upstream=f"127.0.0.1:{db.port}", monitor_user=user,
               monitor_password_file=password_file(tmp_path, pw), connect_timeout="2s")
    wait_monitor_up(t)
    db.shutdown()
    wait_until(lambda: monitor_up(t) == 0, 5, "tether_monitor_up 0 once the server is gone")
    down_at = time.monotonic()
    time.sleep(4)
    db.restart()
    wait_until(lambda: monitor_up(t) == 1, 20, "the monitor back after the restart")
    back_after = time.monotonic() - down_at
    print(f"monitor back {back_after:.1f} s after the server went down (down about 4 s)")
    t.wait_ready(5)
    # Attempts while the server was away: 1 s doubling (with jitter), never a storm.
    retries = log_lines(t, "monitor_retry_failed")
    stamps = [time.mktime(time.strptime(line[:19], "%Y-%m-%dT%H:%M:%S")) + float(line[19:23]) for line in retries]
    assert len(retries) <= 5, retries
    assert all(b - a >= 0.7 for a, b in zip(stamps, stamps[1:])), retries
    assert back_after < 20
    # One login on the fresh server (its counters started again from zero).
    assert len(db.processlist(user)) == 1
    wait_until(lambda: t.metrics().get("tether_server_aborted_connects_total") == db.status("Aborted_connects"), 5,
               "the counters are the restarted server's own")


def test_the_monitor_uses_tls_when_the_server_leg_does(tether, mariadb, tmp_path):
    user, pw = MONITOR_TLS_USER  # created REQUIRE SSL
    pw_file = password_file(tmp_path, pw)
    t = tether(monitor_user=user, monitor_password_file=pw_file, upstream_tls="verify-identity",
               upstream_tls_ca=mariadb.cert("ca"))
    wait_monitor_up(t)
    up = log_lines(t, "monitor_up")
    assert up and re.search(r"tls=TLSv1\.[23]", up[0]), up

    plain = tether(monitor_user=user, monitor_password_file=pw_file, upstream_tls="disabled")
    wait_until(lambda: log_lines(plain, "monitor_down"), 5, "the plaintext monitor refused")
    assert "1045" in log_lines(plain, "monitor_down")[0]
    assert monitor_up(plain) == 0


def test_an_untrusted_server_never_gets_the_monitor_password(tether, mariadb, tmp_path):
    user, pw = MONITOR_USER
    preauth = mariadb.status("Aborted_connects_preauth")
    denials = reserved_denials(mariadb)
    t = tether(monitor_user=user, monitor_password_file=password_file(tmp_path, pw), upstream_tls="verify-ca",
               upstream_tls_ca=mariadb.cert("other-ca"))
    wait_until(lambda: log_lines(t, "monitor_down"), 5, "the monitor refusing the server")
    down = log_lines(t, "monitor_down")[0]
    assert "reason=tls" in down and "unknown_ca" in down, down
    assert monitor_up(t) == 0
    # It finished the handshake with the reserved user (no secret), never the monitor's login.
    wait_until(lambda: reserved_denials(mariadb) > denials, 5, "the reserved user's refused login")
    assert not mariadb.processlist(user)
    assert mariadb.status("Aborted_connects_preauth") == preauth
