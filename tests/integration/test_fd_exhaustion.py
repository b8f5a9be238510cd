"""Running out of file descriptors is seen: tether (under a low `ulimit -n`, set with prlimit)
counts every connection it could not accept in tether_accept_errors_total{error="EMFILE"}, logs
it (rate-limited), answers the waiting client with an ERR 1040 instead of dropping it, exports
process_max_fds, and serves normally again once descriptors are free."""
import shutil
import socket

import pymysql
import pytest

from abuse_support import first_packet, parse_err
from helpers import wait_until
from incident_support import events
from tether_proc import Tether

pytestmark = pytest.mark.skipif(not shutil.which("prlimit"), reason="needs prlimit (util-linux)")

LIMIT = 48


class LimitedTether(Tether):
    def argv(self):
        return ["prlimit", f"--nofile={LIMIT}:{LIMIT}", "--"] + super().argv()


def test_fd_exhaustion_is_counted_answered_and_recovered(mariadb, tmp_path):
    t = LimitedTether(f"127.0.0.1:{mariadb.port}", str(tmp_path), flags={"log_level": "info"}).start()
    held, idle_admin, answers = [], [], []
    try:
        assert t.metrics().value("process_max_fds") == LIMIT
        # Logged-in sessions (2 descriptors each) until tether cannot take more ...
        for _ in range(LIMIT):
            try:
                held.append(t.connect(program_name="filler", connect_timeout=3))
            except pymysql.err.MySQLError:
                break
        else:
            pytest.fail(f"{len(held)} sessions under a limit of {LIMIT} descriptors")
        # ... then idle admin connections take any single descriptor left (a session needs two).
        for _ in range(3):
            idle_admin.append(socket.create_connection((t.host, t.admin_port), timeout=3))
        # Now the process is out of descriptors: each new client gets tether's ERR, not silence.
        for _ in range(5):
            with socket.create_connection((t.host, t.port), timeout=5) as s:
                answers.append(first_packet(s))
        refused = [parse_err(p[1]) for p in answers if p is not None and p[1][:1] == b"\xff"]
        assert any(code == 1040 and "out of file descriptors" in msg for code, _, msg in refused), answers
    finally:
        for s in idle_admin:
            s.close()
        for c in held:
            c.close()
    # recovered: /metrics answers again, and says what happened
    m = wait_until(lambda: t.metrics(), 10, "/metrics to answer after the exhaustion")
    assert m.value("tether_accept_errors_total", error="EMFILE") >= 1, m.series("tether_accept_errors_total")
    lines = events(t, "accept_failed", error="EMFILE")
    assert 1 <= len(lines) <= 2, [ln.raw for ln in lines]  # rate-limited
    assert lines[0].get("client_refused") == "true", lines[0].raw
    with t.connect(program_name="after") as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    assert t.stop() == 0
