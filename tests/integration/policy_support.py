"""Helpers for the idle-policy, admin-action and graceful-shutdown tests (issue 3).

Log lines are parsed in either of tether's formats: text ("TS LEVEL EVENT key=value ...", values
with spaces or quotes JSON-quoted) or json (one object per line with "level" and "event").
"""
import json
import re
import socket
import subprocess
import time

import pymysql

from helpers import wait_until

_KV = re.compile(r'([A-Za-z_][A-Za-z0-9_.]*)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_log_line(line):
    """One log line -> dict with "level", "event" and the fields (all values as str), or None."""
    line = line.strip()
    if not line:
        return None
    if line.startswith("{"):
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        return {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in obj.items()}
    parts = line.split(" ", 3)
    if len(parts) < 3:
        return None
    out = {"ts": parts[0], "level": parts[1], "event": parts[2]}
    for m in _KV.finditer(parts[3] if len(parts) > 3 else ""):
        value = m.group(2)
        if value.startswith('"'):
            try:
                value = json.loads(value)
            except ValueError:
                value = value[1:-1]
        out[m.group(1)] = value
    return out


def log_events(t, event, **fields):
    """Every log record of tether `t` with this event name whose fields include `fields`
    (compared as strings; booleans as "true"/"false")."""
    want = {k: (("true" if v else "false") if isinstance(v, bool) else str(v))
            for k, v in fields.items()}
    out = []
    for line in t.log().splitlines():
        rec = parse_log_line(line)
        if rec is None or rec.get("event") != event:
            continue
        if all(rec.get(k) == v for k, v in want.items()):
            out.append(rec)
    return out


def thread_id(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        return cur.fetchone()[0]


def query(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def assert_connection_dead(conn, what="connection"):
    """The next two queries on `conn` fail (the first may read an ERR packet tether sent before
    closing; the second must find the connection gone)."""
    errors = []
    for _ in range(2):
        try:
            query(conn, "SELECT 1")
        except (pymysql.err.MySQLError, OSError) as e:
            errors.append(e)
            continue
        raise AssertionError(f"{what}: a query still succeeded after tether should have closed it "
                             f"(errors so far: {errors!r})")
    return errors


def wait_session_gone(t, mariadb, tid, timeout=10):
    """The session with upstream thread id `tid` leaves tether's /connections and the server."""
    wait_until(lambda: t.connection_by_thread(tid) is None, timeout,
               f"session (thread {tid}) to leave /connections")
    wait_until(lambda: tid not in mariadb.thread_ids(), timeout,
               f"thread {tid} to leave the server's PROCESSLIST")


def metric(t, name, client, user="app"):
    return t.metrics().get(name, None, client=client, user=user)


def wait_metric(t, name, client, value, timeout=10, user="app"):
    return wait_until(lambda: metric(t, name, client, user) == value, timeout,
                      f'{name}{{client="{client}",user="{user}"}} == {value}')


def new_connection_outcome(host, port, timeout=2.0):
    """Try a new TCP connection to tether's MySQL listener and read what comes back.

    Returns "refused" (ECONNREFUSED), "closed" (accepted then closed or reset with no greeting),
    "error-packet" (an ERR packet then close), "greeting" (a normal server greeting: NOT refused),
    "hang" (nothing within `timeout`: NOT refused) or "other:<bytes>".
    """
    try:
        s = socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "hang"
    try:
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
            if len(data) >= 4 and len(data) >= 4 + int.from_bytes(data[:3], "little"):
                break
        if not data:
            # distinguish "closed" from "still open, silent"
            try:
                s.settimeout(0.2)
                more = s.recv(1)
                if more == b"":
                    return "closed"
            except ConnectionResetError:
                return "closed"
            except socket.timeout:
                return "hang"
            return "closed"
        payload = data[4:]
        if payload[:1] == b"\x0a":
            return "greeting"
        if payload[:1] == b"\xff":
            return "error-packet"
        return f"other:{data[:64]!r}"
    finally:
        s.close()


def wait_exit(t, timeout):
    """Wait for tether's process to exit on its own; return its exit code (kill + fail on hang).
    Marks the instance as stopped by the test so teardown does not signal it again."""
    t.stopped_by_test = True
    try:
        t.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        t.proc.kill()
        t.proc.wait()
        t.stop()
        raise AssertionError(f"tether did not exit within {timeout}s")
    return t.stop()


def native_scramble(password, salt):
    from pymysql import _auth
    return _auth.scramble_native_password(password.encode(), salt)


def sha1(b):
    import hashlib
    return hashlib.sha1(b).digest()
