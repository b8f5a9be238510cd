"""Starting, probing and stopping one build/tether process for a test."""
import http.client
import json
import os
import signal
import subprocess
import time

import pymysql

from helpers import Metrics, parse_metrics, wait_until
from mariadb_server import free_port

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def tether_binary():
    return os.environ.get("TETHER_BIN") or os.path.join(REPO, "build", "tether")


def clean_env(extra=None):
    """The environment without any TETHER_* variable from outside, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(extra or {})
    return env


def run_tether(args, env=None, timeout=15):
    """Run the binary to completion (CLI tests). Returns CompletedProcess with text output."""
    return subprocess.run([tether_binary()] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           errors="replace", env=clean_env(env), timeout=timeout)


class Tether:
    """One running tether. `flags` maps flag names (underscores or dashes) to values:
    a str/int value gives `--flag value`, True gives `--flag`, None leaves the flag out."""

    def __init__(self, upstream, logdir, flags=None, env=None, name="tether"):
        self.host = "127.0.0.1"
        self.flags = {k.replace("_", "-"): v for k, v in (flags or {}).items()}
        self.env = env or {}
        self.port = None
        self.unix_path = None
        listen = self.flags.get("listen")
        # Ports this object picked itself, which start() may pick again if another process
        # took one between free_port() and tether's bind.
        self._picked = {flag for flag in ("listen", "admin") if flag not in self.flags}
        if isinstance(listen, str) and listen.startswith("unix:"):
            self.unix_path = listen[len("unix:"):]
        elif isinstance(listen, str):
            self.port = int(listen.rsplit(":", 1)[1])
        self.admin_port = int(self.flags["admin"].rsplit(":", 1)[1]) if self.flags.get("admin") else None
        self._pick_ports()
        if "upstream" not in self.flags:
            self.flags["upstream"] = upstream
        self.flags.setdefault("log-level", os.environ.get("TETHER_IT_LOG_LEVEL", "debug"))
        # Sessions a test leaves open must not hold its teardown for the default 30 s drain.
        self.flags.setdefault("shutdown-grace", "2s")
        self.log_path = os.path.join(logdir, f"{name}.stderr.log")
        self.proc = None
        self.returncode = None
        self.stopped_by_test = False

    # -- lifecycle -----------------------------------------------------------------------
    def argv(self):
        argv = [tether_binary()]
        for k, v in self.flags.items():
            if v is None:
                continue
            argv.append(f"--{k}")
            if v is not True:
                argv.append(str(v))
        return argv

    def start(self, wait=True, timeout=10):
        binary = tether_binary()
        if not os.access(binary, os.X_OK):
            raise AssertionError(f"tether binary {binary} not found or not executable "
                                 "(build it, or set TETHER_BIN)")
        for attempt in range(3):
            self._log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=self._log, env=clean_env(self.env))
            if not wait:
                return self
            try:
                self.wait_healthy(timeout)
                return self
            except AssertionError:
                if attempt == 2 or not self._lost_picked_port():
                    raise
                self._log.close()
                self._pick_ports()

    def _lost_picked_port(self):
        """tether exited because a port this object picked was taken by someone else."""
        if self.proc.poll() is None:
            return False
        return any("address already in use" in line and f"={self.flags[flag]} " in line
                   for line in self.log().splitlines() for flag in self._picked)

    def _pick_ports(self):
        """Fresh free ports for the flags the test left to this object."""
        if "listen" in self._picked:
            self.port = free_port()
            self.flags["listen"] = f"{self.host}:{self.port}"
        if "admin" in self._picked:
            self.admin_port = free_port()
            self.flags["admin"] = f"{self.host}:{self.admin_port}"

    def wait_healthy(self, timeout=10):
        def healthy():
            if self.proc.poll() is not None:
                raise AssertionError(f"tether exited with {self.proc.returncode} during startup; "
                                     f"argv={self.argv()}\nstderr:\n{self.log()}")
            return self.http("GET", "/healthz", timeout=1)[0] == 200
        wait_until(healthy, timeout, "tether /healthz to answer 200")

    def wait_ready(self, timeout=20):
        """/readyz turns 200 once tether has proved the upstream reachable (up to ~12 s)."""
        wait_until(lambda: self.http("GET", "/readyz", timeout=2)[0] == 200, timeout,
                   "tether /readyz to answer 200")

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Send `sig`, wait for exit, return the exit code (SIGKILL + AssertionError on a hang)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = self.proc.returncode
                raise AssertionError(f"tether did not exit within {timeout}s of {sig!r}")
        self.returncode = self.proc.returncode
        self._log.close()
        return self.returncode

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # -- admin HTTP ----------------------------------------------------------------------
    def http(self, method, path, body=None, headers=None, timeout=5):
        conn = http.client.HTTPConnection(self.host, self.admin_port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            conn.close()

    def metrics_text(self):
        status, _, body = self.http("GET", "/metrics")
        assert status == 200, f"/metrics answered {status}"
        return body.decode()

    def metrics(self):
        return Metrics(parse_metrics(self.metrics_text()))

    def connections(self):
        status, _, body = self.http("GET", "/connections")
        assert status == 200, f"/connections answered {status}: {body[:200]!r}"
        data = json.loads(body)
        assert isinstance(data, list), f"/connections is not a JSON array: {data!r}"
        return data

    def connection_by_thread(self, thread_id):
        for c in self.connections():
            if c.get("upstream_thread_id") == thread_id:
                return c
        return None

    # -- clients -------------------------------------------------------------------------
    def connect(self, user="app", password="apppw", database="tether_test", **kw):
        """A pymysql connection through tether."""
        kw.setdefault("connect_timeout", 10)
        kw.setdefault("read_timeout", 60)
        kw.setdefault("write_timeout", 60)
        kw.setdefault("autocommit", True)
        if self.unix_path:
            return pymysql.connect(unix_socket=self.unix_path, user=user, password=password,
                                   database=database, **kw)
        return pymysql.connect(host=self.host, port=self.port, user=user, password=password,
                               database=database, **kw)

    def mysql_cli(self, sql, user="app", password="apppw", database="tether_test", args=(),
                  timeout=30, input=None):
        """Run the `mariadb` command-line client through tether; returns CompletedProcess."""
        argv = ["mariadb", "--no-defaults", "--batch", "--skip-column-names",
                f"--user={user}", f"--password={password}"]
        if self.unix_path:
            argv += ["--protocol=SOCKET", f"--socket={self.unix_path}"]
        else:
            argv += ["--protocol=TCP", f"--host={self.host}", f"--port={self.port}"]
        if database:
            argv.append(f"--database={database}")
        argv += list(args)
        if sql is not None:
            argv += ["-e", sql]
        return subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)


def wait_closed_reason(t, reason, at_least, timeout=10):
    """Wait until tether_connections_closed_total{reason} >= at_least."""
    return wait_until(
        lambda: t.metrics().value("tether_connections_closed_total", reason=reason) >= at_least,
        timeout, f'tether_connections_closed_total{{reason="{reason}"}} >= {at_least}')


def closed_counts(t):
    """{reason: value} of tether_connections_closed_total."""
    return {dict(k[1]).get("reason"): v
            for k, v in t.metrics().series("tether_connections_closed_total").items()}


def retry_quiet(fn, tries=3, delay=0.2):
    for i in range(tries):
        try:
            return fn()
        except Exception:
            if i == tries - 1:
                raise
            time.sleep(delay)
