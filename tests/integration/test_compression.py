"""The compressed protocol through tether with the `mariadb` CLI's --compress (libmariadb, zlib):
the frames pass as the server sent them, tether follows the packets inside (transaction state,
idle or in a query, large results spanning many frames), and when the client vanishes tether's
COM_QUIT reaches the server inside a frame, so the server counts a clean quit."""
import os
import select
import signal
import subprocess
import time

import pytest

from helpers import wait_until
from tether_proc import wait_closed_reason

COMPRESSION = ("SELECT CONNECTION_ID(), VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
               "WHERE VARIABLE_NAME = 'COMPRESSION';")
ROWS = 6000
NL = b"\n"
LARGE = (f"SELECT seq, SHA2(seq, 512), REPEAT(MD5(seq), 20) FROM tether_test.seq_1_to_{ROWS} "
         "ORDER BY seq;")


class Cli:
    """An interactive `mariadb --compress` session on a pipe, one statement at a time."""

    def __init__(self, t, compress=True):
        argv = ["mariadb", "--no-defaults", "--protocol=TCP", "-h127.0.0.1", f"-P{t.port}", "-uapp", "-papppw",
                "-N", "--batch", "--unbuffered", "tether_test"]
        if compress:
            argv.append("--compress")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  bufsize=0)
        self.pending = b""

    def send(self, sql):
        self.p.stdin.write(sql.encode() + b"\n")

    def lines(self, n, timeout=20):
        """The next `n` output lines, failing (not hanging) after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while self.pending.count(b"\n") < n:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"the CLI printed {self.pending.count(NL)} of {n} lines within {timeout}s"
            chunk = os.read(fd, 1 << 16)
            assert chunk, f"the CLI ended its output: {self.p.stderr.read().decode(errors='replace')}"
            self.pending += chunk
        *out, self.pending = self.pending.split(b"\n", n)
        return [line.decode() for line in out]

    def run(self, sql, lines=1, timeout=20):
        """Send `sql` and return the `lines` output lines it prints."""
        self.send(sql)
        return self.lines(lines, timeout)

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(10)


def test_cli_compressed_session_is_followed(tether, mariadb):
    t = tether()
    aborted = mariadb.status("Aborted_clients")
    cli = Cli(t)
    try:
        tid, compression = cli.run(COMPRESSION)[0].split("\t")
        tid = int(tid)
        assert compression == "ON", "the session through tether is compressed"
        session = t.connection_by_thread(tid)
        assert session["client"] == "mysql" and session["state"] == "idle", session
        assert session["in_transaction"] is False, session

        assert cli.run("BEGIN; INSERT INTO items (name, qty) VALUES ('compressed', 1); SELECT 'inside';") == ["inside"]
        session = t.connection_by_thread(tid)
        assert session["in_transaction"] is True and session["state"] == "idle", session

        # A result of ~5 MB: hundreds of frames, each larger than one read.
        rows = cli.run(LARGE, lines=ROWS)
        expected = mariadb.sql(LARGE.rstrip(";"))
        assert rows == ["\t".join(str(v) for v in row) for row in expected]
        session = t.connection_by_thread(tid)
        assert session["in_transaction"] is True and session["state"] == "idle", session
        assert session["bytes_from_upstream"] < sum(len(r) for r in rows), "the frames crossed compressed"

        assert cli.run("COMMIT; SELECT COUNT(*) FROM items WHERE name = 'compressed';") == ["1"]
        session = t.connection_by_thread(tid)
        assert session["in_transaction"] is False and session["state"] == "idle", session
        cli.run("DELETE FROM items WHERE name = 'compressed'; SELECT 'deleted';")

        # A long query is in flight for tether while it runs.
        cli.send("SELECT SLEEP(1.5);")
        wait_until(lambda: t.connection_by_thread(tid)["state"] == "query", 3, "state query during SLEEP")
        assert cli.lines(1) == ["0"]
        assert t.connection_by_thread(tid)["state"] == "idle"

        cli.p.stdin.close()  # end of input: the CLI sends COM_QUIT (in a frame) and exits
        assert cli.p.wait(10) == 0
    finally:
        cli.close()
    wait_until(lambda: tid not in mariadb.thread_ids(), 5, "the server thread gone")
    wait_closed_reason(t, "client_quit", 1)
    m = t.metrics()
    assert m.value("tether_protocol_desyncs_total") == 0
    assert m.value("tether_connections_opened_total", client="mysql", user="app") == 1
    assert mariadb.status("Aborted_clients") == aborted


@pytest.mark.parametrize("last", ["small", "large"])
def test_killed_compressed_cli_gets_a_framed_com_quit(tether, mariadb, last):
    """tether's own COM_QUIT must travel in a compressed frame: a bare packet would be garbage to
    the server, which would count an aborted client."""
    t = tether()
    cli = Cli(t)
    try:
        tid, compression = cli.run(COMPRESSION)[0].split("\t")
        tid = int(tid)
        assert compression == "ON"
        if last == "large":
            assert len(cli.run(LARGE, lines=ROWS)) == ROWS
        else:
            assert cli.run("SELECT 1;") == ["1"]
        aborted = mariadb.status("Aborted_clients")
        cli.p.send_signal(signal.SIGKILL)
        cli.p.wait(10)
    finally:
        cli.close()
    wait_until(lambda: tid not in mariadb.thread_ids(), 5, f"server thread {tid} to leave PROCESSLIST")
    wait_closed_reason(t, "client_closed", 1)
    assert mariadb.status("Aborted_clients") == aborted, \
        "the server counted an aborted client: tether's COM_QUIT did not reach it as a compressed frame\n" + mariadb.log_tail(3)
    m = t.metrics()
    assert m.value("tether_orphans_closed_total") == 1
    assert m.value("tether_protocol_desyncs_total") == 0


def test_cli_with_and_without_compress_agree(tether):
    t = tether()
    sql = "SELECT REPEAT('c', 100000) = REPEAT('c', 100000), CURRENT_USER(), @@version_comment IS NOT NULL"
    plain = t.mysql_cli(sql)
    compressed = t.mysql_cli(sql, args=["--compress"])
    assert plain.returncode == 0 and compressed.returncode == 0, (plain.stderr, compressed.stderr)
    assert plain.stdout == compressed.stdout
    assert plain.stdout.split() == ["1", "app@%", "1"]
    assert t.metrics().value("tether_protocol_desyncs_total") == 0
