"""Protocol corners a proxy tends to get wrong."""
import pymysql
import pytest
from pymysql.constants import CLIENT

import rawproto
from helpers import wait_until
from tether_proc import wait_closed_reason


def query1(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()


def test_pipelined_queries(tether):
    """Two and then five commands written before any reply is read: each gets its own reply."""
    t = tether()
    conn = t.connect()
    try:
        assert rawproto.pipelined_queries(conn, "SELECT 'a'", "SELECT 'b'") == ["a", "b"]
        assert rawproto.pipelined_queries(
            conn, "SELECT 1", "BEGIN", "INSERT INTO items (name) VALUES ('pipe')",
            "SELECT COUNT(*) FROM items WHERE name='pipe'", "ROLLBACK") == ["1", None, None, "1", None]
        assert query1(conn, "SELECT COUNT(*) FROM items WHERE name='pipe'") == (0,)
        tid = query1(conn, "SELECT CONNECTION_ID()")[0]
        assert t.connection_by_thread(tid)["in_transaction"] is False
    finally:
        conn.close()


def test_multi_statement_error_in_the_middle(tether):
    t = tether()
    conn = t.connect(client_flag=CLIENT.MULTI_STATEMENTS)
    try:
        with conn.cursor() as cur:
            with pytest.raises(pymysql.err.ProgrammingError) as e:
                cur.execute("SELECT 1; SELECT * FROM no_such_table; SELECT 3")
                while cur.nextset():
                    pass
            assert e.value.args[0] == 1146
        assert query1(conn, "SELECT 'after'") == ("after",)
    finally:
        conn.close()


def test_server_side_cursor_fetch(tether):
    """COM_STMT_EXECUTE with a read-only cursor returns no rows; COM_STMT_FETCH brings them."""
    t = tether()
    conn = t.connect()
    try:
        st = rawproto.stmt_prepare(conn, "SELECT seq FROM seq_1_to_1000 WHERE seq > ?")
        assert rawproto.stmt_execute_cursor(conn, st, [990]) == 1
        rows, last = rawproto.stmt_fetch(conn, st, 4)
        assert len(rows) == 4 and not last
        rows, last = rawproto.stmt_fetch(conn, st, 100)
        assert len(rows) == 6 and last
        rawproto.stmt_close(conn, st)
        assert query1(conn, "SELECT 'after fetch'") == ("after fetch",)
    finally:
        conn.close()


def test_com_quit_but_socket_left_open(tether, mariadb):
    """A client sends COM_QUIT and never closes: tether closes it and the backend."""
    t = tether()
    conn = t.connect()
    tid = query1(conn, "SELECT CONNECTION_ID()")[0]
    conn._next_seq_id = 0
    conn.write_packet(b"\x01")
    _, closed = rawproto.read_until_closed(conn._sock, 5)
    assert closed, "tether kept the client socket open after COM_QUIT"
    wait_until(lambda: tid not in mariadb.thread_ids(), 5, "backend gone after COM_QUIT")
    wait_closed_reason(t, "client_quit", 1)


def test_query_killing_its_own_connection(tether, mariadb):
    t = tether()
    conn = t.connect()
    tid = query1(conn, "SELECT CONNECTION_ID()")[0]
    with pytest.raises(pymysql.err.OperationalError) as e:
        query1(conn, f"KILL {tid}")
    assert e.value.args[0] in (1927, 2013, 2006), e.value.args
    wait_until(lambda: t.connection_by_thread(tid) is None, 5, "session gone after self-KILL")
    wait_closed_reason(t, "upstream_closed", 1)
    assert t.alive()


def test_warnings_and_show_warnings(tether):
    t = tether()
    conn = t.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1/0")
            assert cur.fetchone() == (None,)
            cur.execute("SHOW WARNINGS")
            assert cur.fetchall()[0][1] == 1365
    finally:
        conn.close()


def test_empty_result_and_null_heavy_rows(tether):
    t = tether()
    conn = t.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM items WHERE 1 = 0")
            assert cur.fetchall() == ()
            assert [d[0] for d in cur.description] == ["id", "name", "qty"]
            cur.execute("SELECT NULL, '', NULL, 0, NULL FROM seq_1_to_3")
            assert cur.fetchall() == ((None, "", None, 0, None),) * 3
    finally:
        conn.close()
