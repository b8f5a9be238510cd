"""The server ends a backend session (KILL <thread>): tether closes the client and counts
upstream_closed."""
import socket

import pymysql
import pytest

from helpers import wait_until
from tether_proc import wait_closed_reason

CONNECTION_ERRORS = (2006, 2013)


def test_server_kill_closes_the_client(tether, mariadb, server_sql):
    t = tether()
    conn = t.connect(program_name="victim")
    bystander = t.connect(program_name="bystander")
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        tid = cur.fetchone()[0]
    server_sql(f"KILL {tid}")
    wait_until(lambda: t.connection_by_thread(tid) is None, 5,
               f"tether to drop the session of killed thread {tid}")
    wait_closed_reason(t, "upstream_closed", 1)
    # the client's socket was closed by tether
    with pytest.raises(pymysql.err.OperationalError) as e:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
    assert e.value.args[0] in CONNECTION_ERRORS, e.value.args
    wait_until(lambda: not t.metrics().series("tether_client_connections", client="victim"), 5,
               "the victim's gauge series to be removed")
    # other sessions are untouched
    with bystander.cursor() as cur:
        cur.execute("SELECT 'still here'")
        assert cur.fetchone() == ("still here",)
    bystander.close()


def test_server_kill_seen_by_raw_socket_as_eof(tether, server_sql):
    """At the TCP level: after KILL the client socket reaches EOF (tether does not keep it open)."""
    t = tether()
    conn = t.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        tid = cur.fetchone()[0]
    sock = conn._sock
    server_sql(f"KILL {tid}")
    sock.settimeout(5)
    got = b""
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                break
            got += b
    except socket.timeout:
        pytest.fail(f"client socket still open 5 s after KILL of its backend (got {got!r})")
    except ConnectionResetError:
        pass
    # MariaDB may send an unsolicited ERR 1927 (connection killed) first; anything else is wrong
    assert got == b"" or got[4] == 0xFF, got[:100]


def test_kill_query_keeps_the_session(tether, server_sql):
    """KILL QUERY ends the statement, not the session: the client sees ERR 1317 and carries on."""
    import threading
    t = tether()
    conn = t.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        tid = cur.fetchone()[0]
    result = {}

    def run():
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT SLEEP(20)")
                result["rows"] = cur.fetchall()
        except Exception as e:
            result["error"] = e

    th = threading.Thread(target=run)
    th.start()
    wait_until(lambda: any((r["INFO"] or "").startswith("SELECT SLEEP(20)")
                           for r in server_sql_processlist(server_sql, tid)), 5, "SLEEP to run")
    server_sql(f"KILL QUERY {tid}")
    th.join(10)
    assert not th.is_alive()
    # MariaDB answers a killed SLEEP with the value 1 or with ERR 1317 depending on timing
    assert result.get("rows") == ((1,),) or getattr(result.get("error"), "args", [None])[0] == 1317, result
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        assert cur.fetchone() == (tid,)
    conn.close()


def server_sql_processlist(server_sql, tid):
    rows = server_sql("SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE ID = %s", (tid,))
    return [{"ID": r[0], "INFO": r[1]} for r in rows]
