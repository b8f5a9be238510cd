"""Commands whose replies are not plain OK/ERR/result sets, or that get no reply at all, sent by
hand (see rawproto.py): tether must follow each to its end and stay in sync."""
import pymysql
import pytest

import rawproto
from helpers import wait_until


@pytest.fixture
def conn(tether):
    t = tether()
    c = t.connect(program_name="rawproto")
    c.tether = t
    yield c
    c.close()


def query1(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()


def test_com_statistics_string_reply(conn):
    assert "Uptime" in rawproto.statistics(conn)
    assert query1(conn, "SELECT 'after statistics'") == ("after statistics",)


def test_com_field_list(conn):
    assert rawproto.field_list(conn, "items") == ["id", "name", "qty"]
    assert rawproto.field_list(conn, "items", "q%") == ["qty"]
    assert query1(conn, "SELECT 'after field list'") == ("after field list",)


def test_binary_prepared_statements(conn):
    st = rawproto.stmt_prepare(conn, "SELECT ?, ? + 1, CONCAT(?, 'x')")
    assert (st.num_params, st.num_columns) == (3, 3)
    assert rawproto.stmt_execute(conn, st, ["a", 41, None]) == [[b"a", 42, None]]
    assert rawproto.stmt_execute(conn, st, ["b", -2, "y"]) == [[b"b", -1, b"yx"]]
    # a statement with no result set and no parameters
    upd = rawproto.stmt_prepare(conn, "UPDATE items SET qty = qty WHERE id = 1")
    assert rawproto.stmt_execute(conn, upd, []) is None
    # a statement returning many rows
    many = rawproto.stmt_prepare(conn, "SELECT seq FROM seq_1_to_5000 WHERE seq > ?")
    rows = rawproto.stmt_execute(conn, many, [4990])
    assert [r[0] for r in rows] == list(range(4991, 5001))
    for s in (st, upd, many):
        rawproto.stmt_close(conn, s)  # no reply
    assert query1(conn, "SELECT 'after close'") == ("after close",)


def test_send_long_data_and_close_get_no_reply(conn):
    st = rawproto.stmt_prepare(conn, "SELECT LENGTH(?), ?")
    rawproto.stmt_send_long_data(conn, st, 0, b"y" * 100000)
    rawproto.stmt_send_long_data(conn, st, 0, b"y" * 50000)
    assert rawproto.stmt_execute(conn, st, [None, 7], long_data_params={0}) == [[150000, 7]]
    rawproto.stmt_close(conn, st)
    # if tether waited for a reply to SEND_LONG_DATA/CLOSE, these would hang or desync
    assert query1(conn, "SELECT 'after long data'") == ("after long data",)
    conn.ping(reconnect=False)


def test_prepare_error_then_in_sync(conn):
    with pytest.raises(pymysql.err.ProgrammingError) as e:
        rawproto.stmt_prepare(conn, "SELECT * FROM no_such_table WHERE id = ?")
    assert e.value.args[0] == 1146
    assert query1(conn, "SELECT 'after error'") == ("after error",)


def test_reset_connection_ends_the_transaction(conn):
    t = conn.tether
    tid = query1(conn, "SELECT CONNECTION_ID()")[0]
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO items (name) VALUES ('reset-me')")
    wait_until(lambda: t.connection_by_thread(tid)["in_transaction"] is True, 5,
               "/connections in_transaction true after BEGIN+INSERT")
    rawproto.reset_connection(conn)
    assert query1(conn, "SELECT @@in_transaction, COUNT(*) FROM items WHERE name='reset-me'") == (0, 0)
    wait_until(lambda: t.connection_by_thread(tid)["in_transaction"] is False, 5,
               "/connections in_transaction false after COM_RESET_CONNECTION")
    # the session is still the same backend thread and still attributed to the same client
    c = t.connection_by_thread(tid)
    assert (c["user"], c["client"]) == ("app", "rawproto")
