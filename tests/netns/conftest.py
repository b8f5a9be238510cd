"""Network-namespace rig: a private MariaDB on a non-loopback address.

MariaDB only counts connect errors (max_connect_errors, error 1129 "Host is
blocked") for clients that are not on loopback and not on the unix socket,
so a loopback test can never show the problem.  This rig builds:

    host side  vh<pid>  10.231.X.1/30  <---- veth ---->  10.231.X.2/30  vn<pid>
                                                          (namespace tnc<pid>)
                                                          mariadbd :3306

The /30 exists only between the two veth ends: every packet a test sends
goes to an address inside a namespace this rig created.

The server runs with name resolution ON (no skip-name-resolve).  Inside the
namespace no DNS server is reachable, so a reverse lookup through `dns`
would fail *temporarily* (EAI_AGAIN) and the server would then count nothing
-- a vacuous pass.  The server therefore runs under `unshare --mount` with a
private nsswitch.conf (`hosts: files`) and a private /etc/hosts bind-mounted
over the real ones, so the lookup of the host-side address fails
permanently and the host gets a host_cache entry that counts errors.

The server's root account is reachable from the host side over the unix
socket in the rig's temp dir (unix sockets are not bound to a network
namespace), which is what the tests use for performance_schema.host_cache.

Run as root:  /usr/bin/python3 -m pytest -v tests/netns
"""

import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import ExitStack

import pytest

pymysql = pytest.importorskip(
    "pymysql", reason="pymysql missing: run with /usr/bin/python3 (python3-pymysql)")

MAX_CONNECT_ERRORS = 10
CONNECT_TIMEOUT = 5          # server-side connect_timeout (seconds)
APP_USER = "tether_app"
APP_PASSWORD = "app-secret-9f2"
ED_USER = "tether_ed"        # an ed25519 account: MariaDB switches every login to client_ed25519
ED_PASSWORD = "ed-secret-41c"


def _run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, **kw)


def _which(name, extra=("/usr/sbin", "/sbin", "/usr/bin", "/usr/local/sbin")):
    p = shutil.which(name)
    if p:
        return p
    for d in extra:
        cand = os.path.join(d, name)
        if os.access(cand, os.X_OK):
            return cand
    return None


def _pick_subnet():
    """Pick a 10.231.X.0/30 not already on any local interface."""
    used = _run(["ip", "-4", "-o", "addr", "show"], check=False).stdout
    start = os.getpid() % 250
    for i in range(250):
        x = (start + i) % 250 + 1
        if f"10.231.{x}." not in used:
            return f"10.231.{x}.1", f"10.231.{x}.2"
    raise RuntimeError("no free 10.231.X.0/30 subnet")


class Rig:
    """Handle on the namespaced MariaDB. Attributes are plain data."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    # --- admin access (root over the unix socket, from the host side) ---
    def admin(self):
        return pymysql.connect(unix_socket=self.socket, user="root", password="",
                               autocommit=True, connect_timeout=5)

    def query(self, sql, args=None):
        conn = self.admin()
        try:
            with conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute(sql, args)
                return cur.fetchall()
        finally:
            conn.close()

    def host_cache(self, ip=None):
        """The performance_schema.host_cache row for ip (None if absent)."""
        rows = self.query("SELECT * FROM performance_schema.host_cache WHERE IP = %s",
                          (ip or self.host_ip,))
        return rows[0] if rows else None

    def flush_hosts(self):
        self.query("FLUSH HOSTS")
        # Also clear the performance_schema view (same cache in MariaDB, but
        # be explicit) and check it is really empty for our address.
        self.query("TRUNCATE TABLE performance_schema.host_cache")
        assert self.host_cache() is None, self.host_cache()

    def global_status(self, name):
        rows = self.query("SHOW GLOBAL STATUS LIKE %s", (name,))
        return int(rows[0]["Value"]) if rows else None

    def pending_handshakes(self, ip=None):
        """Server connections from ip that have not finished logging in."""
        ip = ip or self.host_ip
        rows = self.query(
            "SELECT ID, USER, HOST, COMMAND, STATE, TIME FROM information_schema.PROCESSLIST "
            "WHERE (HOST = %s OR HOST LIKE %s) AND USER = 'unauthenticated user'",
            (ip, ip + ":%"))
        return rows

    def wait_pending_gone(self, timeout=CONNECT_TIMEOUT + 4):
        """Wait until no half-done login from host_ip is open on the server.

        A connection the client side left silent stays here until the
        server's connect_timeout, then counts as an error; waiting for this
        makes the final host_cache check complete."""
        deadline = time.monotonic() + timeout
        rows = self.pending_handshakes()
        while rows and time.monotonic() < deadline:
            time.sleep(0.1)
            rows = self.pending_handshakes()
        return rows

    def wait_host_cache(self, pred, timeout=5.0):
        """Poll host_cache until pred(row) is true; return the last row."""
        deadline = time.monotonic() + timeout
        row = self.host_cache()
        while not (row is not None and pred(row)) and time.monotonic() < deadline:
            time.sleep(0.05)
            row = self.host_cache()
        return row

    def general_log_text(self):
        try:
            with open(self.general_log, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def error_log_text(self):
        try:
            with open(self.error_log, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # --- network clients from the host side (source address host_ip) ---
    def app_login(self, host=None, port=None, **kw):
        """A real login as the app user; returns the open connection."""
        return pymysql.connect(host=host or self.server_ip, port=port or self.port,
                               user=APP_USER, password=APP_PASSWORD,
                               connect_timeout=5, read_timeout=10, **kw)

    def bare_connect_close(self):
        """TCP connect to the server, then close without a login."""
        s = socket.create_connection((self.server_ip, self.port), timeout=5)
        s.close()


def _skip_unless_netns_possible():
    if os.geteuid() != 0:
        pytest.skip("netns test needs root (ip netns / veth / mount)")
    if not _which("ip"):
        pytest.skip("iproute2 `ip` not installed")
    probe = f"tncprobe{os.getpid()}"
    r = _run(["ip", "netns", "add", probe], check=False)
    if r.returncode != 0:
        msg = r.stdout.strip()
        if any(w in msg.lower() for w in ("not permitted", "permission denied",
                                          "operation not supported", "read-only")):
            pytest.skip(f"`ip netns add` not permitted here: {msg}")
        pytest.fail(f"`ip netns add {probe}` failed: {msg}")
    _run(["ip", "netns", "del", probe], check=False)


def _kill_ns_processes(ns):
    r = _run(["ip", "netns", "pids", ns], check=False)
    for tok in r.stdout.split():
        try:
            os.kill(int(tok), signal.SIGKILL)
        except (ValueError, ProcessLookupError):
            pass


@pytest.fixture(scope="module")
def mariadb_netns():
    _skip_unless_netns_possible()
    mariadbd = _which("mariadbd") or _which("mysqld")
    install_db = _which("mariadb-install-db") or _which("mysql_install_db")
    unshare = _which("unshare")
    mount = _which("mount")
    assert mariadbd and install_db, "mariadb-server is not installed"
    assert unshare and mount, "util-linux unshare/mount missing"

    pid = os.getpid()
    ns = f"tnc{pid}"
    veth_host = f"vh{pid}"[:15]
    veth_ns = f"vn{pid}"[:15]
    host_ip, server_ip = _pick_subnet()
    port = 3306

    with ExitStack() as stack:
        tmp = tempfile.mkdtemp(prefix="tether-netns-")
        # Keep the dir on failure for post-mortem only if asked to.
        if not os.environ.get("TETHER_NETNS_KEEP"):
            stack.callback(shutil.rmtree, tmp, True)

        # ---- namespace + veth -------------------------------------------
        _run(["ip", "netns", "add", ns])

        def _del_ns():
            _kill_ns_processes(ns)
            _run(["ip", "link", "del", veth_host], check=False)
            _run(["ip", "netns", "del", ns], check=False)
        stack.callback(_del_ns)

        _run(["ip", "link", "add", veth_host, "type", "veth", "peer", "name", veth_ns])
        _run(["ip", "link", "set", veth_ns, "netns", ns])
        _run(["ip", "addr", "add", f"{host_ip}/30", "dev", veth_host])
        _run(["ip", "link", "set", veth_host, "up"])
        _run(["ip", "netns", "exec", ns, "ip", "addr", "add", f"{server_ip}/30", "dev", veth_ns])
        _run(["ip", "netns", "exec", ns, "ip", "link", "set", veth_ns, "up"])
        _run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"])

        # ---- private resolver config for the server ----------------------
        nsswitch = os.path.join(tmp, "nsswitch.conf")
        with open(nsswitch, "w") as f:
            f.write("passwd: files\ngroup: files\nshadow: files\n"
                    "hosts: files\nnetworks: files\n"
                    "protocols: files\nservices: files\n")
        hosts = os.path.join(tmp, "hosts")
        with open(hosts, "w") as f:
            # Deliberately no entry for host_ip: its reverse lookup must fail
            # permanently (EAI_NONAME), not temporarily.
            f.write("127.0.0.1 localhost\n::1 localhost\n")

        # ---- datadir -----------------------------------------------------
        datadir = os.path.join(tmp, "data")
        sock = os.path.join(tmp, "mysqld.sock")
        error_log = os.path.join(tmp, "error.log")
        general_log = os.path.join(tmp, "general.log")
        r = _run([install_db, "--no-defaults", f"--datadir={datadir}", "--user=root",
                  "--auth-root-authentication-method=normal", "--skip-test-db"],
                 check=False)
        assert r.returncode == 0, f"mariadb-install-db failed:\n{r.stdout}"

        # TLS as in production: tether's server leg and its client leg (tests/support/make_test_certs).
        certs = os.path.join(tmp, "certs")
        r = _run([os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "make_test_certs"), certs],
                 check=False)
        assert r.returncode == 0, f"make_test_certs failed:\n{r.stdout}"
        server_args = [
            mariadbd, "--no-defaults", "--user=root",
            f"--ssl-ca={certs}/ca.pem", f"--ssl-cert={certs}/server.pem", f"--ssl-key={certs}/server.key",
            f"--datadir={datadir}", f"--socket={sock}",
            f"--pid-file={os.path.join(tmp, 'mysqld.pid')}",
            f"--log-error={error_log}",
            f"--bind-address={server_ip}", f"--port={port}",
            "--performance-schema=ON",
            f"--max-connect-errors={MAX_CONNECT_ERRORS}",
            f"--connect-timeout={CONNECT_TIMEOUT}",
            "--general-log=ON", f"--general-log-file={general_log}",
            "--log-warnings=4",
            "--skip-log-bin", "--innodb-buffer-pool-size=32M",
            "--innodb-log-file-size=16M",
        ]
        shell = (f"{shlex.quote(mount)} --bind {shlex.quote(nsswitch)} /etc/nsswitch.conf && "
                 f"{shlex.quote(mount)} --bind {shlex.quote(hosts)} /etc/hosts && "
                 f"exec {' '.join(shlex.quote(a) for a in server_args)}")
        server_out = open(os.path.join(tmp, "mariadbd.stdout"), "w")
        stack.callback(server_out.close)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, unshare, "--mount", "--propagation", "private",
             "sh", "-c", shell],
            stdout=server_out, stderr=subprocess.STDOUT, start_new_session=True)

        def _stop_server():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        stack.callback(_stop_server)   # runs before _del_ns (LIFO)

        rig = Rig(ns=ns, host_ip=host_ip, server_ip=server_ip, port=port,
                  socket=sock, tmp=tmp, datadir=datadir, error_log=error_log,
                  general_log=general_log, proc=proc, certs=certs,
                  max_connect_errors=MAX_CONNECT_ERRORS,
                  connect_timeout=CONNECT_TIMEOUT,
                  app_user=APP_USER, app_password=APP_PASSWORD,
                  ed_user=ED_USER, ed_password=ED_PASSWORD)

        # ---- wait for the server ----------------------------------------
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mariadbd exited rc={proc.returncode}:\n{rig.error_log_text()}")
            try:
                rig.query("SELECT 1")
                break
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    pytest.fail(f"mariadbd did not come up:\n{rig.error_log_text()}")
                time.sleep(0.1)

        # ---- sanity of the configuration the proof depends on -----------
        v = {r["Variable_name"]: r["Value"] for r in rig.query(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
            "('skip_name_resolve','max_connect_errors','performance_schema',"
            "'bind_address','host_cache_size')")}
        assert v["skip_name_resolve"] == "OFF", v
        assert int(v["max_connect_errors"]) == MAX_CONNECT_ERRORS, v
        assert v["performance_schema"] == "ON", v
        assert int(v["host_cache_size"]) > 0, v

        rig.query(f"CREATE USER '{APP_USER}'@'%%' IDENTIFIED BY %s", (APP_PASSWORD,))
        rig.query(f"GRANT ALL PRIVILEGES ON *.* TO '{APP_USER}'@'%'")
        rig.query("CREATE DATABASE IF NOT EXISTS tether_test")
        rig.query("INSTALL SONAME 'auth_ed25519'")
        rig.query(f"CREATE USER '{ED_USER}'@'%%' IDENTIFIED VIA ed25519 USING PASSWORD(%s)", (ED_PASSWORD,))

        yield rig
