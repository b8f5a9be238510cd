"""Logging in and running queries through tether with real clients (PyMySQL, the mariadb CLI)."""
import threading

import pymysql
import pytest
from pymysql.constants import CLIENT

from helpers import wait_until


def test_login_and_text_query(tether, mariadb):
    t = tether()
    conn = t.connect(program_name="queries")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER(), DATABASE(), CONNECTION_ID()")
            user, db, tid = cur.fetchone()
            assert (user, db) == ("app@%", "tether_test")
            cur.execute("SELECT name, qty FROM fruits ORDER BY id")
            assert cur.fetchall() == (("apple", 3), ("pear", 5), ("plum", 7))
            cur.execute("SELECT %s, %s", ("é—ünïcode", None))
            assert cur.fetchone() == ("é—ünïcode", None)
        # the backend link is a real, separate server session owned by 'app'
        assert tid in mariadb.thread_ids("app")
    finally:
        conn.close()


def test_error_reply_then_the_session_goes_on(tether):
    t = tether()
    conn = t.connect()
    try:
        with conn.cursor() as cur:
            with pytest.raises(pymysql.err.ProgrammingError) as e:
                cur.execute("SELECT * FROM no_such_table")
            assert e.value.args[0] == 1146
            with pytest.raises(pymysql.err.ProgrammingError) as e:
                cur.execute("SELEKT 1")
            assert e.value.args[0] == 1064
            cur.execute("SELECT 42")
            assert cur.fetchone() == (42,)
    finally:
        conn.close()


def test_insert_update_delete_report_affected_rows(tether, server_sql):
    t = tether()
    conn = t.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS dml (id INT PRIMARY KEY, v INT)")
            cur.execute("DELETE FROM dml")
            assert cur.execute("INSERT INTO dml VALUES (1, 1), (2, 2), (3, 3)") == 3
            assert cur.lastrowid == 0
            assert cur.execute("UPDATE dml SET v = v + 10 WHERE id >= 2") == 2
            assert cur.execute("DELETE FROM dml WHERE id = 1") == 1
        assert server_sql("SELECT id, v FROM tether_test.dml ORDER BY id") == ((2, 12), (3, 13))
    finally:
        conn.close()


def test_multi_statements_and_multiple_result_sets(tether):
    t = tether()
    conn = t.connect(client_flag=CLIENT.MULTI_STATEMENTS)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1; SELECT 'two', 2; DO 0; SELECT name FROM fruits WHERE qty > 4 ORDER BY id")
            results = [cur.fetchall()]
            while cur.nextset():
                results.append(cur.fetchall())
            assert results == [((1,),), (("two", 2),), (), (("pear",), ("plum",))]
            # the session is still in sync afterwards
            cur.execute("SELECT 'after'")
            assert cur.fetchone() == ("after",)
    finally:
        conn.close()


def test_stored_procedure_with_two_result_sets(tether, server_sql):
    server_sql("DROP PROCEDURE IF EXISTS tether_test.two_sets")
    server_sql("CREATE PROCEDURE tether_test.two_sets() BEGIN SELECT 1 AS a; "
               "SELECT name FROM tether_test.fruits ORDER BY id LIMIT 2; END")
    t = tether()
    conn = t.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("CALL two_sets()")
            sets = [cur.fetchall()]
            while cur.nextset():
                sets.append(cur.fetchall())
            assert sets[:2] == [((1,),), (("apple",), ("pear",))]
            cur.execute("SELECT 3")
            assert cur.fetchone() == (3,)
    finally:
        conn.close()


def test_large_result_set_200k_rows(tether):
    t = tether()
    conn = t.connect(cursorclass=pymysql.cursors.SSCursor)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT seq, CONCAT('row-', seq) FROM seq_1_to_200000")
            n = total = 0
            for seq, label in cur:
                n += 1
                total += seq
                if seq % 50000 == 0:
                    assert label == f"row-{seq}"
        assert n == 200000
        assert total == 200000 * 200001 // 2
        with conn.cursor() as cur:
            cur.execute("SELECT 'still in sync'")
            assert cur.fetchone() == ("still in sync",)
    finally:
        conn.close()


def test_ping_and_select_db(tether):
    t = tether()
    conn = t.connect(database=None)
    try:
        conn.ping(reconnect=False)
        conn.select_db("tether_test")
        with conn.cursor() as cur:
            cur.execute("SELECT DATABASE(), COUNT(*) FROM fruits")
            assert cur.fetchone() == ("tether_test", 3)
        conn.ping(reconnect=False)
    finally:
        conn.close()


def test_load_data_local_infile(tether, tmp_path, server_sql):
    path = tmp_path / "rows.csv"
    path.write_text("".join(f"{i},name-{i}\n" for i in range(1, 1001)))
    t = tether()
    conn = t.connect(local_infile=True)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS infile_rows (id INT PRIMARY KEY, name VARCHAR(50))")
            cur.execute("DELETE FROM infile_rows")
            n = cur.execute(f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE infile_rows "
                            "FIELDS TERMINATED BY ','")
            assert n == 1000
            cur.execute("SELECT COUNT(*), MAX(id) FROM infile_rows")
            assert cur.fetchone() == (1000, 1000)
    finally:
        conn.close()
    assert server_sql("SELECT COUNT(*) FROM tether_test.infile_rows") == ((1000,),)


def test_mariadb_cli_query_and_sql_prepared_statements(tether):
    t = tether()
    r = t.mysql_cli("SELECT CURRENT_USER(); "
                    "PREPARE s FROM 'SELECT name FROM fruits WHERE qty > ? ORDER BY id'; "
                    "SET @q = 4; EXECUTE s USING @q; "
                    "SET @q = 6; EXECUTE s USING @q; DEALLOCATE PREPARE s;")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:4] == ["app@%", "pear", "plum", "plum"]


def test_mariadb_cli_auth_switch(tether):
    """--default-auth=client_ed25519 makes the server answer the login with an AuthSwitchRequest
    to mysql_native_password: tether must relay the switch and the client's second answer."""
    t = tether()
    r = t.mysql_cli("SELECT CURRENT_USER()", args=["--default-auth=client_ed25519"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "app@%"
    r = t.mysql_cli("SELECT 1", password="wrong", args=["--default-auth=client_ed25519"])
    assert r.returncode != 0 and "1045" in r.stderr, (r.returncode, r.stderr)


def test_many_concurrent_clients(tether, mariadb):
    t = tether()
    errors = []
    thread_ids = set()
    lock = threading.Lock()

    def worker(i):
        try:
            conn = t.connect(program_name="concurrent")
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT CONNECTION_ID()")
                    tid = cur.fetchone()[0]
                    for j in range(30):
                        cur.execute("SELECT %s * %s, REPEAT('z', %s)", (i, j, j * 100))
                        assert cur.fetchone() == (i * j, "z" * (j * 100))
                with lock:
                    thread_ids.add(tid)
            finally:
                conn.close()
        except Exception as e:  # collected and asserted below
            errors.append(f"worker {i}: {e!r}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(30)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors
    assert len(thread_ids) == 30, "each client must get its own backend session"
    wait_until(lambda: not (thread_ids & mariadb.thread_ids()), 10,
               "all 30 backend sessions to end after the clients quit")
    wait_until(lambda: t.metrics().value("tether_client_connections", client="concurrent",
                                         user="app") == 0, 10,
               "tether_client_connections{client=concurrent} to drop to 0")


def test_listen_on_unix_socket(tether, tmp_path):
    path = str(tmp_path / "tether.sock")
    t = tether(listen=f"unix:{path}")
    conn = t.connect(program_name="unix-client")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER(), 1 + 1")
            assert cur.fetchone() == ("app@%", 2)
    finally:
        conn.close()
    r = t.mysql_cli("SELECT 'cli via unix'")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "cli via unix"
