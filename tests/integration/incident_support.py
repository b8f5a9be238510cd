"""Helpers for the incident reproductions (test_incident_*.py) and the cap tests (test_caps.py):
tether's log lines parsed, the Java leaky-pool program built and run, a leaky TCP tunnel."""
import calendar
import os
import re
import select
import shutil
import socket
import subprocess
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

# --- tether's stderr: "2026-11-22T05:00:36.098Z info EVENT key=value key="quoted value" ..." ----
_LINE = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z (\w+) (\S+)(.*)$')
_FIELD = re.compile(r'\s+([A-Za-z0-9_.]+)=("(?:[^"\\]|\\.)*"|\S*)')


def _unquote(v):
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        import json
        try:
            return json.loads(v)
        except ValueError:
            return v[1:-1]
    return v


class LogLine(dict):
    """One event: the key=value fields as a dict, plus .ts (epoch seconds), .level, .event, .raw."""

    def __init__(self, ts, level, event, fields, raw):
        super().__init__(fields)
        self.ts, self.level, self.event, self.raw = ts, level, event, raw


def parse_log(text):
    out = []
    for raw in text.splitlines():
        m = _LINE.match(raw)
        if not m:
            continue
        ts = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + int(m.group(2)) / 1000
        fields = {k: _unquote(v) for k, v in _FIELD.findall(m.group(5))}
        out.append(LogLine(ts, m.group(3), m.group(4), fields, raw))
    return out


def events(t, event, **match):
    """tether `t`'s log lines of `event` whose fields include `match` (values compared as str)."""
    want = {k: str(v) for k, v in match.items()}
    return [ln for ln in parse_log(t.log())
            if ln.event == event and all(ln.get(k) == v for k, v in want.items())]


def lines_naming(t, client):
    """Log lines (any event) whose client= field is `client`."""
    return [ln for ln in parse_log(t.log()) if ln.get("client") == client]


# --- the Java leaky-pool program ---------------------------------------------------------------
JAVA_PACKAGES = "libhikaricp-java libmariadb-java libslf4j-java (and a JDK: javac/java)"
JARS = ["HikariCP.jar", "mariadb-java-client.jar", "slf4j-api.jar", "slf4j-nop.jar"]


def java_classpath():
    """The Debian jars the program needs; fails (does not skip) when they are missing."""
    missing = [j for j in JARS if not os.path.exists(os.path.join("/usr/share/java", j))]
    tools = [x for x in ("javac", "java") if shutil.which(x) is None]
    if missing or tools:
        pytest.fail(f"missing {missing + tools}: install {JAVA_PACKAGES} (scripts/bootstrap)",
                    pytrace=False)
    return [os.path.join("/usr/share/java", j) for j in JARS]


def build_java(name, outdir):
    """javac tests/integration/java/<name>.java into outdir; returns the run classpath."""
    cp = java_classpath()
    src = os.path.join(HERE, "java", f"{name}.java")
    r = subprocess.run(["javac", "-nowarn", "-d", str(outdir), "-cp", ":".join(cp), src],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 0, f"javac {src} failed:\n{r.stdout}"
    return ":".join(cp + [str(outdir)])


class LineReader:
    """Collects a subprocess's stdout lines in a thread, each with the time it arrived."""

    def __init__(self, stream):
        self.lines = []  # (time.time(), line)
        self._lock = threading.Lock()
        self._t = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._t.start()

    def _run(self, stream):
        for line in stream:
            with self._lock:
                self.lines.append((time.time(), line.rstrip("\n")))

    def snapshot(self):
        with self._lock:
            return list(self.lines)

    def matching(self, prefix):
        return [ln for _, ln in self.snapshot() if ln.startswith(prefix)]


# --- a leaky tunnel (the first incident's Netty proxy, minus the fix) --------------------------
class LeakyTunnel:
    """Accepts clients on a loopback port and opens one connection to `target` for each, relaying
    bytes both ways. When its client goes away it does NOT close (or shut down) its side towards
    the target: it keeps that socket open forever, like the intranet proxy client in the first
    incident that was never told its user had disconnected. Only when the target closes the link
    does the tunnel let go of it."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self.links = []            # every (client socket, upstream socket) ever made
        self.clients_gone = 0      # clients that disconnected
        self.upstream_closed_at = {}  # upstream socket fileno at open -> time the target closed it
        self._stop = False
        self._threads = []
        self._spawn(self._accept_loop)

    def _spawn(self, fn, *args):
        th = threading.Thread(target=fn, args=args, daemon=True)
        th.start()
        self._threads.append(th)

    def _accept_loop(self):
        while not self._stop:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.target, timeout=5)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            key = len(self.links)
            with self._lock:
                self.links.append((c, u))
            self._spawn(self._client_to_upstream, c, u)
            self._spawn(self._upstream_to_client, c, u, key)

    def _client_to_upstream(self, c, u):
        while True:
            try:
                data = c.recv(65536)
            except OSError:
                data = b""
            if not data:
                # THE BUG: the user's side is gone, but nobody tells the upstream link.
                with self._lock:
                    self.clients_gone += 1
                try:
                    c.close()
                except OSError:
                    pass
                return
            try:
                u.sendall(data)
            except OSError:
                return

    def _upstream_to_client(self, c, u, key):
        while True:
            try:
                data = u.recv(65536)
            except OSError:
                data = b""
            if not data:  # the target closed the link: now the tunnel lets go of it
                with self._lock:
                    self.upstream_closed_at[key] = time.time()
                for s in (u, c):
                    try:
                        s.close()
                    except OSError:
                        pass
                return
            try:
                c.sendall(data)
            except OSError:
                pass  # client gone: drop the bytes, keep holding the upstream link

    def held_upstream(self):
        """Upstream links the target has not closed yet."""
        with self._lock:
            return len(self.links) - len(self.upstream_closed_at)

    def close(self):
        self._stop = True
        try:
            self.listener.close()
        except OSError:
            pass
        with self._lock:
            links = list(self.links)
        for c, u in links:
            for s in (c, u):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    s.close()
                except OSError:
                    pass


def readline(f, timeout):
    ready, _, _ = select.select([f], [], [], timeout)
    assert ready, f"no output within {timeout}s"
    return f.readline()
