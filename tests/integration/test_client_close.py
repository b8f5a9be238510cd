"""However a client goes away (COM_QUIT, FIN, RST, SIGKILL), tether ends the backend session
with COM_QUIT (the server counts no aborted client) and counts the close with the right reason."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from helpers import drop_connection, wait_until
from tether_proc import closed_counts, wait_closed_reason

HOLDER = textwrap.dedent("""
    import sys, time, pymysql
    conn = pymysql.connect(host="127.0.0.1", port=int(sys.argv[1]), user="app", password="apppw",
                           database="tether_test", program_name="doomed")
    cur = conn.cursor()
    cur.execute("SELECT CONNECTION_ID()")
    print(cur.fetchone()[0], flush=True)
    time.sleep(300)
""")


def readline(f, timeout):
    """One line from a subprocess pipe, failing (not hanging) after `timeout` seconds."""
    import select
    ready, _, _ = select.select([f], [], [], timeout)
    assert ready, f"no output from the subprocess within {timeout}s"
    return f.readline()


def thread_id(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        return cur.fetchone()[0]


def assert_backend_gone(t, mariadb, tid, aborted_before):
    wait_until(lambda: tid not in mariadb.thread_ids(), 5,
               f"server thread {tid} to leave PROCESSLIST")
    wait_until(lambda: t.connection_by_thread(tid) is None, 5,
               f"/connections entry for thread {tid} to go")
    # tether sent COM_QUIT upstream: the server did not count an aborted client
    assert mariadb.status("Aborted_clients") == aborted_before, \
        "server counted an aborted client: tether closed the backend without COM_QUIT"


def test_com_quit(tether, mariadb):
    t = tether()
    conn = t.connect(program_name="quitter")
    tid = thread_id(conn)
    aborted = mariadb.status("Aborted_clients")
    conn.close()  # sends COM_QUIT
    assert_backend_gone(t, mariadb, tid, aborted)
    wait_closed_reason(t, "client_quit", 1)
    counts = closed_counts(t)
    assert counts.get("client_closed", 0) == 0, counts


@pytest.mark.parametrize("rst", [False, True], ids=["fin", "rst"])
def test_client_socket_closed_without_quit(tether, mariadb, rst):
    t = tether()
    conn = t.connect(program_name="dropper")
    tid = thread_id(conn)
    aborted = mariadb.status("Aborted_clients")
    drop_connection(conn, rst=rst)
    assert_backend_gone(t, mariadb, tid, aborted)
    wait_closed_reason(t, "client_closed", 1)
    assert closed_counts(t).get("client_quit", 0) == 0


def test_sigkilled_python_client(tether, mariadb):
    t = tether()
    p = subprocess.Popen(["/usr/bin/python3", "-c", HOLDER, str(t.port)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        line = readline(p.stdout, 15)
        assert line.strip().isdigit(), f"holder failed: {line!r} {p.stderr.read() if p.poll() is not None else ''}"
        tid = int(line)
        assert tid in mariadb.thread_ids("app")
        wait_until(lambda: t.metrics().value("tether_client_connections", client="doomed",
                                             user="app") == 1, 5, "gauge for doomed == 1")
        aborted = mariadb.status("Aborted_clients")
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert_backend_gone(t, mariadb, tid, aborted)
    wait_closed_reason(t, "client_closed", 1)
    wait_until(lambda: not t.metrics().series("tether_client_connections", client="doomed"), 5,
               "the doomed client's gauge series to be removed")


def test_sigkilled_mariadb_cli_mid_query(tether, mariadb):
    """The CLI is killed while its query (SLEEP) runs on the server: the backend must still go."""
    t = tether()
    p = subprocess.Popen(["mariadb", "--no-defaults", "--protocol=TCP", "-h127.0.0.1", f"-P{t.port}",
                          "-uapp", "-papppw", "tether_test", "-e", "SELECT SLEEP(4)"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rows = wait_until(lambda: [r for r in mariadb.processlist("app")
                                   if (r["INFO"] or "").startswith("SELECT SLEEP(4)")], 10,
                          "the CLI's SLEEP(4) to show in PROCESSLIST")
        tid = rows[0]["ID"]
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # a query in flight cannot be interrupted by COM_QUIT; tether must close the backend socket,
    # after which the server ends the thread (at the latest when SLEEP notices the dead socket).
    wait_until(lambda: t.connection_by_thread(tid) is None, 5,
               f"/connections entry for thread {tid} to go after SIGKILL")
    wait_until(lambda: tid not in mariadb.thread_ids(), 15, f"server thread {tid} to end")
    wait_closed_reason(t, "client_closed", 1)
    assert t.metrics().value("tether_upstream_connections") == 0


def test_idle_mariadb_cli_killed(tether, mariadb):
    t = tether()
    # an interactive CLI session kept open on a pipe, idle between commands
    p = subprocess.Popen(["mariadb", "--no-defaults", "--protocol=TCP", "-h127.0.0.1", f"-P{t.port}",
                          "-uapp", "-papppw", "-N", "--unbuffered", "tether_test"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        p.stdin.write("SELECT CONNECTION_ID();\n")
        p.stdin.flush()
        tid = int(readline(p.stdout, 10))
        aborted = mariadb.status("Aborted_clients")
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert_backend_gone(t, mariadb, tid, aborted)
    wait_closed_reason(t, "client_closed", 1)
