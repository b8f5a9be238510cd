"""What one client connection costs tether in system calls (strace -c on the running process).

Connection-per-request applications (PHP, a pool built per request) pay tether's per-connection
cost on every request, and most of that cost is system calls. These budgets hold the calls that
do not depend on timing (how many wake-ups a connection takes does) to what the work needs:
the listener hands accepted sockets their TCP options and their peer's address, a numeric
upstream address needs no resolver thread.
"""
import os
import re
import signal
import subprocess

from helpers import wait_until

CONNECTIONS = 20


def _parse_strace_summary(text):
    """strace -c's table -> {syscall: calls}."""
    calls = {}
    for line in text.splitlines():
        fields = line.split()
        # % time, seconds, usecs/call, calls, [errors,] syscall
        if len(fields) >= 5 and re.fullmatch(r"[0-9.]+", fields[0]) and fields[-1] != "total":
            calls[fields[-1]] = int(fields[3])
    return calls


def _syscalls_per_connection(t, tmp_path, n=CONNECTIONS):
    """Runs n connections (log in, SELECT 1, COM_QUIT) one after another through tether `t`
    under strace; returns {syscall: calls per connection}."""
    t.connect().close()  # the readiness probe and the first-connection work are behind us
    out = tmp_path / "strace.txt"
    errors = tmp_path / "strace.stderr"
    with open(errors, "wb") as err:
        tracer = subprocess.Popen(["strace", "-f", "-c", "-o", str(out), "-p", str(t.proc.pid)],
                                  stdout=subprocess.DEVNULL, stderr=err)
    try:
        threads = len(os.listdir(f"/proc/{t.proc.pid}/task"))
        wait_until(lambda: errors.read_text(errors="replace").count("attached") >= threads,
                   timeout=10, what=f"strace attached to every thread of tether ({threads})")
        closed_before = t.log().count("session_closed")
        for _ in range(n):
            conn = t.connect()
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                assert cur.fetchone() == (1,)
            conn.close()
        wait_until(lambda: t.log().count("session_closed") >= closed_before + n, timeout=10,
                   what=f"tether closed all {n} sessions")
    finally:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=10)
    calls = _parse_strace_summary(out.read_text())
    assert calls, f"no strace summary: {out.read_text()!r} {errors.read_text()!r}"
    return {name: count / n for name, count in calls.items()}


def test_a_tcp_client_connection_costs_only_the_socket_options_of_its_server_socket(tether, tmp_path):
    t = tether(client_keepalive="30s", upstream_keepalive="30s")
    per_connection = _syscalls_per_connection(t, tmp_path)
    # The server socket: TCP_NODELAY only. Its five keepalive options (SO_KEEPALIVE, TCP_KEEPIDLE,
    # TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT) come a second after connect, which a
    # connection per request never lives to see. The client socket inherits them from the
    # listener (test_socket_options.py reads them off both sockets).
    assert per_connection.get("setsockopt", 0) == 1, per_connection
    # The client's address came with accept4().
    assert per_connection.get("getpeername", 0) == 0, per_connection


def test_a_connection_takes_one_accept_and_four_epoll_changes(tether, tmp_path):
    t = tether()
    per_connection = _syscalls_per_connection(t, tmp_path)
    # One accept4() per waiting client: the listener does not try again only to hear EAGAIN.
    assert per_connection.get("accept4", 0) == 1, per_connection
    # The client socket: added, removed at close. The server socket: added with read interest
    # only, removed at close. A MySQL server speaks first, so its first bytes confirm the connect:
    # no wake-up for writability, no getsockopt(SO_ERROR), no epoll_ctl(MOD) to drop it again.
    assert per_connection.get("epoll_ctl", 0) == 4, per_connection
    assert per_connection.get("getsockopt", 0) == 0, per_connection


def test_a_client_quit_ends_the_connection_without_waiting_for_either_close(tether, tmp_path):
    # A plaintext server leg: TLS to the server adds reads of its own (and fewer when resumed).
    t = tether(upstream_tls="disabled")
    per_connection = _syscalls_per_connection(t, tmp_path)
    # One read per packet the connection carries: the greeting, the login, its OK, the query,
    # its result (MariaDB writes it at once), the client's COM_QUIT: 6. tether ends both sides
    # when the COM_QUIT is relayed, as the client library does, so no seventh read waits for
    # the client's FIN or the server's. (A few reads of the readiness probe and the health
    # checks fall into the traced window too.)
    assert per_connection.get("read", 0) < 7, per_connection
    assert per_connection.get("close", 0) == 2, per_connection
