"""A private, throw-away MariaDB server for the integration tests (also runnable by hand).

Started with --no-defaults on a temporary datadir, loopback only, real users with real
mysql_native_password passwords. Root logs in through the unix socket with no password.

By hand:  /usr/bin/python3 tests/integration/mariadb_server.py [--port N]
(prints the port and socket, runs until Ctrl-C; scripts/start-mariadb wraps this).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pymysql

USERS = {
    # name: (password, privileges)
    "app": ("apppw", "ALL PRIVILEGES ON tether_test.*"),
    "other": ("otherpw", "ALL PRIVILEGES ON tether_test.*"),
    "dba": ("dbapw", "ALL PRIVILEGES ON *.*"),
}
# An account the server lets in only over TLS (CREATE USER ... REQUIRE SSL).
SECURE_USER = ("secure", "securepw")
# tether's monitor session (--monitor-user), with the GRANTs the README gives for MariaDB:
# PROCESS (every thread in the processlist) and CONNECTION ADMIN (KILL of other users' threads).
MONITOR_USER = ("monitor", "monitorpw")
# The same without the KILL privilege (its KILLs of other users' threads fail with 1095).
MONITOR_NOKILL_USER = ("monitor_nokill", "monitornokillpw")
# A monitor account the server lets in only over TLS.
MONITOR_TLS_USER = ("monitor_tls", "monitortlspw")
DATABASE = "tether_test"
MAKE_TEST_CERTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "make_test_certs")
MAX_ALLOWED_PACKET = 64 * 1024 * 1024


_issued_ports = set()


def free_port(host="127.0.0.1"):
    """A loopback TCP port that was free a moment ago (bind port 0, read it, close), and one
    this process has not handed out before: the kernel may give the same port to two binds in
    a row once the first is closed, and a tether started with that port for both --listen and
    --admin fails with "address already in use"."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _issued_ports:
            _issued_ports.add(port)
            return port


def _which(*names):
    for name in names:
        path = shutil.which(name) or (os.path.exists(f"/usr/sbin/{name}") and f"/usr/sbin/{name}")
        if path:
            return path
    raise RuntimeError(f"none of {names} found on PATH or in /usr/sbin")


class MariaDB:
    """One mariadbd process on 127.0.0.1:<port> with its socket at <dir>/sock."""

    def __init__(self, port=None, basedir=None, keep=False, extra_args=(), server_cert="server"):
        self.port = port or free_port()
        self.basedir = basedir or tempfile.mkdtemp(prefix="tether-it-db-", dir="/tmp")
        self.datadir = os.path.join(self.basedir, "data")
        self.socket = os.path.join(self.basedir, "sock")
        self.error_log = os.path.join(self.basedir, "error.log")
        # A temporary directory of its own: two servers bootstrapping at once (pytest workers)
        # must not meet in /tmp's #sql-temptable files.
        self.tmpdir = os.path.join(self.basedir, "tmp")
        self.keep = keep
        self.extra_args = list(extra_args)  # e.g. --require-secure-transport=ON
        self.certs = os.path.join(self.basedir, "certs")  # tests/support/make_test_certs' files
        self.server_cert = server_cert  # which of them the server presents
        self.proc = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, timeout=60):
        os.makedirs(self.tmpdir, exist_ok=True)
        install = [
            _which("mariadb-install-db", "mysql_install_db"),
            "--no-defaults",
            "--auth-root-authentication-method=normal",
            f"--datadir={self.datadir}",
            "--user=root",
            "--skip-test-db",
            "--skip-name-resolve",
            f"--tmpdir={self.tmpdir}",
        ]
        r = subprocess.run(install, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("mariadb-install-db failed:\n" + r.stdout.decode(errors="replace"))

        # TLS on the server, as in production: its certificate (localhost, 127.0.0.1) is
        # signed by the test CA, so clients and tether can verify it.
        r = subprocess.run([MAKE_TEST_CERTS, self.certs], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120)
        if r.returncode != 0:
            raise RuntimeError("make_test_certs failed:\n" + r.stdout.decode(errors="replace"))
        self.tls = True
        cmd = [
            _which("mariadbd", "mysqld"),
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            "--user=root",
            f"--pid-file={os.path.join(self.basedir, 'mariadbd.pid')}",
            f"--log-error={self.error_log}",
            f"--tmpdir={self.tmpdir}",
            "--skip-name-resolve",
            "--max-connections=200",
            # tether's readiness probe and the garbage tests make failed handshakes from
            # 127.0.0.1: never let the server block the host for them.
            "--max-connect-errors=1000000",
            f"--max-allowed-packet={MAX_ALLOWED_PACKET}",
            "--local-infile=1",
            "--innodb-buffer-pool-size=64M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=0",
            "--skip-log-bin",
            "--performance-schema=OFF",
        ]
        cmd += [f"--ssl-ca={self.cert('ca')}", f"--ssl-cert={self.cert(self.server_cert)}",
                f"--ssl-key={self.key(self.server_cert)}"]
        cmd += self.extra_args
        self._cmd = cmd
        self._launch(timeout)
        self._provision()
        return self

    def cert(self, name):
        return os.path.join(self.certs, f"{name}.pem")

    def key(self, name):
        return os.path.join(self.certs, f"{name}.key")

    def _launch(self, timeout=60):
        self.proc = subprocess.Popen(self._cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.sql("SELECT 1")
                break
            except Exception as e:  # not up yet
                last = e
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"mariadbd not ready after {timeout}s ({last}):\n{self.log_tail()}")

    def _provision(self):
        self.sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        for user, (pw, privs) in USERS.items():
            self.sql(f"CREATE USER '{user}'@'%' IDENTIFIED VIA mysql_native_password "
                     f"USING PASSWORD('{pw}')")
            self.sql(f"GRANT {privs} TO '{user}'@'%'")
        self.sql(f"CREATE TABLE {DATABASE}.items (id INT PRIMARY KEY AUTO_INCREMENT, "
                 "name VARCHAR(100) NOT NULL, qty INT NOT NULL DEFAULT 0) ENGINE=InnoDB")
        self.sql(f"INSERT INTO {DATABASE}.items (name, qty) VALUES ('apple', 3), ('pear', 5), "
                 "('plum', 7)")
        # A table no test writes to, for tests that check exact rows (items is scratch space).
        self.sql(f"CREATE TABLE {DATABASE}.fruits AS SELECT id, name, qty FROM {DATABASE}.items")
        self.sql(f"CREATE TABLE {DATABASE}.blobs (id INT PRIMARY KEY AUTO_INCREMENT, "
                 "b LONGBLOB) ENGINE=InnoDB")
        user, pw = SECURE_USER
        self.sql(f"CREATE USER '{user}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('{pw}') REQUIRE SSL")
        self.sql(f"GRANT ALL PRIVILEGES ON {DATABASE}.* TO '{user}'@'%'")
        for (user, pw), privs, require in ((MONITOR_USER, "PROCESS, CONNECTION ADMIN", ""),
                                           (MONITOR_NOKILL_USER, "PROCESS", ""),
                                           (MONITOR_TLS_USER, "PROCESS, CONNECTION ADMIN", " REQUIRE SSL")):
            self.sql(f"CREATE USER '{user}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('{pw}')"
                     + require)
            self.sql(f"GRANT {privs} ON *.* TO '{user}'@'%'")
        self.sql("FLUSH PRIVILEGES")

    def shutdown(self, timeout=30):
        """Stop the server but keep its datadir (see restart)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout)
        self.proc = None

    def restart(self, timeout=60):
        """Start the server again on the same port and datadir after shutdown()."""
        self._launch(timeout)
        return self

    def stop(self, timeout=30):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if not self.keep:
            shutil.rmtree(self.basedir, ignore_errors=True)

    def log_tail(self, n=40):
        try:
            with open(self.error_log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no error log)"

    # -- queries as root over the unix socket --------------------------------------------
    def connect_root(self, **kw):
        return pymysql.connect(unix_socket=self.socket, user="root", password="",
                               autocommit=True, connect_timeout=5, read_timeout=60, **kw)

    def sql(self, query, args=None):
        """Run one statement as root over the unix socket; return all rows (tuples)."""
        conn = self.connect_root()
        try:
            with conn.cursor() as cur:
                cur.execute(query, args)
                return cur.fetchall()
        finally:
            conn.close()

    def processlist(self, user=None):
        """Rows of information_schema.PROCESSLIST as dicts (keys upper-case), optionally one user's."""
        conn = self.connect_root(cursorclass=pymysql.cursors.DictCursor)
        try:
            with conn.cursor() as cur:
                if user is None:
                    cur.execute("SELECT * FROM information_schema.PROCESSLIST")
                else:
                    cur.execute("SELECT * FROM information_schema.PROCESSLIST WHERE USER=%s", (user,))
                return [{k.upper(): v for k, v in row.items()} for row in cur.fetchall()]
        finally:
            conn.close()

    def thread_ids(self, user=None):
        return {row["ID"] for row in self.processlist(user)}

    def status(self, name):
        rows = self.sql("SHOW GLOBAL STATUS LIKE %s", (name,))
        return int(rows[0][1]) if rows else None

    def threads_connected(self):
        return self.status("Threads_connected")


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dir", default=None, help="base directory (default: a new /tmp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the datadir on exit")
    args = ap.parse_args()
    db = MariaDB(port=args.port or None, basedir=args.dir, keep=args.keep).start()
    print(f"MariaDB ready: 127.0.0.1:{db.port} socket={db.socket} dir={db.basedir}", flush=True)
    print("users: " + ", ".join(f"{u}/{p}" for u, (p, _) in USERS.items()) + f"; database {DATABASE}",
          flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM}) if hasattr(signal, "sigwait") else None
    except KeyboardInterrupt:
        pass
    finally:
        db.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    sys.exit(main())
