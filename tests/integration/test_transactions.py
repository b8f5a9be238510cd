"""Transaction state as tether sees it (/connections in_transaction) against what the server did."""
import pymysql

from helpers import drop_connection, wait_until


def state(t, tid):
    c = t.connection_by_thread(tid)
    assert c is not None, f"no /connections entry with upstream_thread_id={tid}: {t.connections()}"
    return c["in_transaction"]


def test_in_transaction_follows_begin_commit_rollback(tether, server_sql):
    t = tether()
    conn = t.connect(program_name="tx", autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute("SELECT CONNECTION_ID()")
        tid = cur.fetchone()[0]
        assert state(t, tid) is False

        cur.execute("BEGIN")
        cur.execute("INSERT INTO items (name, qty) VALUES ('tx-row', 1)")
        wait_until(lambda: state(t, tid) is True, 5, "in_transaction true while the tx is open")
        # not visible to others yet
        assert server_sql("SELECT COUNT(*) FROM tether_test.items WHERE name='tx-row'") == ((0,),)
        cur.execute("COMMIT")
        wait_until(lambda: state(t, tid) is False, 5, "in_transaction false after COMMIT")
        assert server_sql("SELECT COUNT(*) FROM tether_test.items WHERE name='tx-row'") == ((1,),)

        cur.execute("START TRANSACTION")
        cur.execute("DELETE FROM items WHERE name='tx-row'")
        wait_until(lambda: state(t, tid) is True, 5, "in_transaction true after START TRANSACTION")
        cur.execute("ROLLBACK")
        wait_until(lambda: state(t, tid) is False, 5, "in_transaction false after ROLLBACK")
        assert server_sql("SELECT COUNT(*) FROM tether_test.items WHERE name='tx-row'") == ((1,),)
        cur.execute("DELETE FROM items WHERE name='tx-row'")
    finally:
        conn.close()


def test_in_transaction_with_autocommit_off(tether):
    t = tether()
    conn = t.connect(autocommit=False)
    try:
        cur = conn.cursor()
        cur.execute("SELECT CONNECTION_ID()")
        tid = cur.fetchone()[0]
        # with autocommit off even a SELECT on InnoDB opens a transaction
        cur.execute("SELECT COUNT(*) FROM items")
        cur.execute("UPDATE items SET qty = qty WHERE id = 1")
        wait_until(lambda: state(t, tid) is True, 5, "in_transaction true with autocommit off")
        conn.commit()
        wait_until(lambda: state(t, tid) is False, 5, "in_transaction false after COM_QUERY COMMIT")
    finally:
        conn.close()


def test_transaction_rolled_back_when_client_vanishes(tether, server_sql, mariadb):
    """An open transaction of a client that disappears must not be committed, and its row locks
    must be released (the backend session ends)."""
    t = tether()
    conn = t.connect(autocommit=True)
    cur = conn.cursor()
    cur.execute("SELECT CONNECTION_ID()")
    tid = cur.fetchone()[0]
    cur.execute("BEGIN")
    cur.execute("INSERT INTO items (name, qty) VALUES ('vanish-row', 1)")
    wait_until(lambda: state(t, tid) is True, 5, "in_transaction true")
    drop_connection(conn)  # FIN without COM_QUIT
    wait_until(lambda: tid not in mariadb.thread_ids(), 5, "backend session to end")
    assert server_sql("SELECT COUNT(*) FROM tether_test.items WHERE name='vanish-row'") == ((0,),)
    # and the row lock is gone: another session can write the table right away
    other = t.connect(read_timeout=10)
    try:
        with other.cursor() as c2:
            c2.execute("SET innodb_lock_wait_timeout = 3")
            c2.execute("INSERT INTO items (name, qty) VALUES ('after-vanish', 1)")
            c2.execute("DELETE FROM items WHERE name='after-vanish'")
    finally:
        other.close()
