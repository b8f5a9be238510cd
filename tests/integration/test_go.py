"""Go through tether: go-sql-driver/mysql from Debian (1.5.0, which has no compression yet),
built at test time offline from Debian's packaged source. Queries, server-side prepared statements,
a transaction seen in /connections, a bounded database/sql pool, and a killed Go process whose
backend connections leave the server's processlist at once, each closed with COM_QUIT."""
import os
import shutil
import subprocess

import pytest

from helpers import wait_until
from step_client import StepClient

HERE = os.path.dirname(os.path.abspath(__file__))
GOPATH = "/usr/share/gocode"  # Debian's golang-*-dev packages install their source here


@pytest.fixture(scope="session")
def go_session_binary(tmp_path_factory):
    """tests/integration/go/session.go, built once per test run without any network."""
    go = shutil.which("go")
    assert go, "go is missing: scripts/bootstrap installs golang-go"
    assert os.path.isdir(os.path.join(GOPATH, "src", "github.com", "go-sql-driver", "mysql")), \
        "go-sql-driver is missing: scripts/bootstrap installs golang-github-go-sql-driver-mysql-dev"
    out = tmp_path_factory.mktemp("go")
    binary = out / "session"
    env = {**os.environ, "GOPATH": GOPATH, "GO111MODULE": "off", "GOFLAGS": "", "GOPROXY": "off",
           "GOCACHE": str(out / "cache"), "CGO_ENABLED": "0"}
    r = subprocess.run([go, "build", "-o", str(binary), os.path.join(HERE, "go", "session.go")], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert r.returncode == 0, "go build failed:\n" + r.stdout
    return str(binary)


def test_go_through_tether(tether, mariadb, go_session_binary):
    t = tether()
    aborted = mariadb.status("Aborted_clients")
    client = StepClient([go_session_binary, str(t.port)])
    try:
        hello = client.until("hello")
        assert t.connection_by_thread(hello["id"])["user"] == "app"
        assert client.until("query") == [["apple", 3], ["pear", 5], ["plum", 7]]
        assert client.until("prepared") == [["apple", 3], ["plum", 7], ["pear", 5]]

        tx = client.until("in_transaction")
        session = t.connection_by_thread(tx["id"])
        assert session is not None, t.connections()
        assert session["user"] == "app" and session["in_transaction"] is True, session
        assert session["state"] == "idle", session
        client.resume()
        assert client.until("committed") == 1
        wait_until(lambda: t.connection_by_thread(tx["id"])["in_transaction"] is False, 2,
                   "in_transaction false after COMMIT")

        pool = client.until("pool")
        assert 1 <= pool["distinct"] <= 4, pool
        # the pool's bound holds on the server too
        assert len(mariadb.processlist("app")) <= 4

        held = client.until("holding")
        assert len(set(held)) == 4, held
        assert set(held) <= mariadb.thread_ids("app")
        m = t.metrics()
        assert m.sum("tether_client_connections", user="app") == 4
        assert m.value("tether_protocol_desyncs_total") == 0

        client.kill()  # SIGKILL: no COM_QUIT from the driver, its sockets just close
        wait_until(lambda: not (set(held) & mariadb.thread_ids()), 2,
                   f"the killed program's server threads {held} to leave PROCESSLIST")
    finally:
        client.kill()
    wait_until(lambda: t.metrics().value("tether_orphans_closed_total") == 4, 5, "4 orphans closed")
    m = t.metrics()
    assert m.value("tether_connections_closed_total", reason="client_closed") == 4
    assert m.value("tether_protocol_desyncs_total") == 0
    assert mariadb.status("Aborted_clients") == aborted, "tether closed a backend without COM_QUIT"
