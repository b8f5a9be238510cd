"""The admin server stays small under abuse and never locks MySQL clients out: a client that
pipelines requests without reading, idle and half-sent admin connections, more admin connections
than the cap at a low descriptor limit."""
import os
import socket
import subprocess
import threading
import time

from helpers import wait_until

REQUEST = b"GET /metrics HTTP/1.1\r\nHost: abuse\r\n\r\n"


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def query_through(t, program_name):
    conn = t.connect(program_name=program_name, connect_timeout=5, read_timeout=10)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 41 + 1")
            return cur.fetchone()[0]
    finally:
        conn.close()


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.02)


def test_pipelining_client_that_never_reads_does_not_grow_tether(tether):
    """200,000 pipelined GET /metrics once took tether to 630 MB. Now it stops reading a connection
    while its answers are not read, so the requests wait in the kernel, not in tether."""
    t = tether(log_level="info")
    t.wait_ready()
    # Enough series that every /metrics answer is a few KB, as in production.
    held = [t.connect(program_name=f"abuse-{i}") for i in range(20)]
    pid = t.proc.pid
    body_size = len(t.http("GET", "/metrics")[2])
    baseline = rss_bytes(pid)
    sampler = RssSampler(pid)
    sampler.start()

    s = socket.create_connection((t.host, t.admin_port))
    s.setblocking(False)
    payload = REQUEST * 100_000  # answered in full, ~100,000 x body_size bytes of responses
    sent = 0
    deadline = time.monotonic() + 6
    try:
        while sent < len(payload) and time.monotonic() < deadline:
            try:
                sent += s.send(payload[sent:sent + 65536])
            except BlockingIOError:
                time.sleep(0.01)
        requests_sent = sent // len(REQUEST)
        # Meanwhile tether serves MySQL clients and other admin clients as usual.
        assert query_through(t, "normal") == 42
        status, _, body = t.http("GET", "/healthz", timeout=3)
        assert status == 200 and body == b"ok\n"
        assert t.http("GET", "/metrics", timeout=3)[0] == 200
        time.sleep(0.5)
        sampler.done.set()
        sampler.join()
        growth = sampler.peak - baseline
        # Without the budget the answers to what was sent would sit in tether's memory.
        assert growth < 64 * 1024 * 1024, (
            f"RSS grew {growth / 1e6:.1f} MB while {requests_sent} pipelined requests "
            f"(answers of {body_size} bytes) were sent")
        # The abuser still gets correct answers, in order, once it reads.
        s.setblocking(True)
        s.settimeout(5)
        got = b""
        while got.count(b"HTTP/1.1 200 OK\r\n") < 3:
            chunk = s.recv(65536)
            assert chunk, "the pipelining connection was closed"
            got += chunk
        assert got.startswith(b"HTTP/1.1 200 OK\r\n"), got[:200]
    finally:
        s.close()
        for c in held:
            c.close()
    assert t.alive()
    assert query_through(t, "after") == 42


def test_idle_admin_connections_are_closed_after_the_idle_timeout(tether):
    t = tether(admin_idle_timeout="1s")
    idle = socket.create_connection((t.host, t.admin_port))
    half = socket.create_connection((t.host, t.admin_port))
    half.sendall(b"GET /metr")  # a request that is never finished
    idle.settimeout(5)
    half.settimeout(5)
    start = time.monotonic()
    try:
        assert idle.recv(100) == b"", "an idle admin connection was not closed"
        assert half.recv(100) == b"", "a half-sent request held its connection"
        elapsed = time.monotonic() - start
        assert 0.8 <= elapsed < 4, f"closed after {elapsed:.2f}s with --admin-idle-timeout 1s"
    finally:
        idle.close()
        half.close()


def test_busy_keep_alive_connection_outlives_the_idle_timeout(tether):
    """A scraper's keep-alive connection completes a request every interval: it is never cut."""
    import http.client
    t = tether(admin_idle_timeout="1s")
    conn = http.client.HTTPConnection(t.host, t.admin_port, timeout=5)
    try:
        for _ in range(8):  # 2.4 s on one connection, a request every 0.3 s
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            assert r.status == 200 and r.read() == b"ok\n"
            assert conn.sock is not None, "the keep-alive connection was closed"
            time.sleep(0.3)
    finally:
        conn.close()


def test_admin_cap_keeps_descriptors_for_mysql_clients(tether):
    """At a low descriptor limit, idle admin sockets up to the cap leave room for MySQL clients;
    those past the cap get 503 and are closed; the idle ones go after the idle timeout."""
    cap = 4
    t = tether(admin_max_connections=cap, admin_idle_timeout="2s", log_level="info")
    t.wait_ready()
    pid = t.proc.pid
    # A MySQL session takes two descriptors (client and server side), the readiness probe one.
    limit = open_fds(pid) + cap + 4
    subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={limit}:{limit}"], check=True)
    sockets = []
    try:
        for _ in range(cap + 20):
            sockets.append(socket.create_connection((t.host, t.admin_port)))
        time.sleep(0.3)
        refused, held = 0, 0
        for s in sockets:
            s.settimeout(0.2)
            try:
                data = s.recv(200)
            except socket.timeout:
                held += 1
                continue
            except ConnectionResetError:
                refused += 1
                continue
            assert data == b"" or data.startswith(b"HTTP/1.1 503 "), data
            refused += 1
        assert held == cap, f"{held} admin connections held open, cap {cap}"
        assert refused == 20
        assert open_fds(pid) <= limit
        # The cap left room: a MySQL client logs in and queries.
        assert query_through(t, "fd-room") == 42
        assert "admin_connection_refused" in t.log()
        # Idle admin sockets are closed after the idle timeout, and admin works again.
        wait_until(lambda: t.http("GET", "/healthz", timeout=1)[0] == 200, 6,
                   "a new admin request once the idle ones are closed")
        for s in sockets:
            s.settimeout(3)
            try:
                assert s.recv(100) == b""
            except ConnectionResetError:
                pass
    finally:
        for s in sockets:
            s.close()
    assert query_through(t, "fd-room") == 42
