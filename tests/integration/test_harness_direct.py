"""The harness itself, without tether: the private MariaDB, its users and the helpers."""
import pymysql
import pytest

from helpers import Metrics, parse_metrics, wait_until, WaitTimeout


def test_users_log_in_directly_with_their_passwords(mariadb):
    for user, pw in (("app", "apppw"), ("other", "otherpw"), ("dba", "dbapw")):
        conn = pymysql.connect(host="127.0.0.1", port=mariadb.port, user=user, password=pw,
                               database="tether_test", program_name="harness")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT CURRENT_USER(), DATABASE(), COUNT(*) FROM items")
                assert cur.fetchone() == (f"{user}@%", "tether_test", 3)
        finally:
            conn.close()


def test_users_have_native_password_plugin(mariadb):
    rows = mariadb.sql("SELECT user, plugin FROM mysql.user WHERE user IN ('app','other','dba')")
    assert sorted(rows) == [("app", "mysql_native_password"), ("dba", "mysql_native_password"),
                            ("other", "mysql_native_password")]


def test_wrong_password_is_1045_directly(mariadb):
    with pytest.raises(pymysql.err.OperationalError) as e:
        pymysql.connect(host="127.0.0.1", port=mariadb.port, user="app", password="nope")
    assert e.value.args[0] == 1045


def test_processlist_sees_a_direct_connection(mariadb):
    conn = pymysql.connect(host="127.0.0.1", port=mariadb.port, user="other", password="otherpw")
    try:
        tid = conn.thread_id()
        assert tid in mariadb.thread_ids("other")
        assert mariadb.threads_connected() >= 1
    finally:
        conn.close()
    wait_until(lambda: tid not in mariadb.thread_ids(), 5, "direct connection's thread to end")


def test_metrics_parser():
    text = ('# HELP a_total x\n# TYPE a_total counter\na_total{reason="client_quit"} 3\n'
            'b{client="x\\"y",user="app"} 1.5e0\nc 7 1700000000\n')
    m = Metrics(parse_metrics(text))
    assert m.value("a_total", reason="client_quit") == 3
    assert m.value("b", client='x"y', user="app") == 1.5
    assert m.value("c") == 7
    assert m.value("a_total", reason="nope") == 0
    with pytest.raises(ValueError):
        parse_metrics("garbage line here\n")


def test_wait_until_reports_what_it_waited_for():
    with pytest.raises(WaitTimeout, match="the moon"):
        wait_until(lambda: False, 0.2, "the moon")


def _direct(mariadb, **kw):
    return pymysql.connect(host="127.0.0.1", port=mariadb.port, user="app", password="apppw",
                           database="tether_test", autocommit=True, **kw)


def test_rawproto_helpers_work_directly(mariadb):
    """The hand-rolled commands used by test_protocol_commands.py, against the server itself."""
    import rawproto
    conn = _direct(mariadb, program_name="raw-direct")
    try:
        assert "Uptime" in rawproto.statistics(conn)
        assert rawproto.field_list(conn, "items") == ["id", "name", "qty"]
        st = rawproto.stmt_prepare(conn, "SELECT ?, ? + 1, CONCAT(?, 'x')")
        assert (st.num_params, st.num_columns) == (3, 3)
        rows = rawproto.stmt_execute(conn, st, ["a", 41, None])
        assert rows == [[b"a", 42, None]]
        st2 = rawproto.stmt_prepare(conn, "SELECT LENGTH(?), ?")
        rawproto.stmt_send_long_data(conn, st2, 0, b"y" * 1000)
        rawproto.stmt_send_long_data(conn, st2, 0, b"y" * 24)
        assert rawproto.stmt_execute(conn, st2, [None, 7], long_data_params={0}) == [[1024, 7]]
        rawproto.stmt_close(conn, st)
        rawproto.stmt_close(conn, st2)
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT @@in_transaction")
            assert cur.fetchone() == (1,)
        rawproto.reset_connection(conn)
        with conn.cursor() as cur:
            cur.execute("SELECT @@in_transaction")
            assert cur.fetchone() == (0,)
        rawproto.change_user(conn, "other", "otherpw", "tether_test", {"program_name": "raw-direct"})
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            assert cur.fetchone() == ("other@%",)
        with pytest.raises(pymysql.err.OperationalError) as e:
            rawproto.change_user(conn, "app", "wrong", "tether_test")
        assert e.value.args[0] == 1045
    finally:
        conn.close()


def test_server_counts_an_aborted_client_for_a_drop_without_quit(mariadb):
    """Proves the Aborted_clients checks in test_client_close.py / test_shutdown.py can fail."""
    from helpers import drop_connection
    conn = _direct(mariadb)
    tid = conn.thread_id()
    before = mariadb.status("Aborted_clients")
    drop_connection(conn)
    wait_until(lambda: tid not in mariadb.thread_ids(), 5, "thread gone")
    wait_until(lambda: mariadb.status("Aborted_clients") == before + 1, 5, "Aborted_clients + 1")


def test_server_counts_preauth_aborts(mariadb):
    """Proves the Aborted_connects_preauth check in test_reserved_user.py can fail."""
    import socket
    before = mariadb.status("Aborted_connects_preauth")
    with socket.create_connection(("127.0.0.1", mariadb.port)) as s:
        s.recv(1024)  # greeting, then hang up without a login
    wait_until(lambda: mariadb.status("Aborted_connects_preauth") == before + 1, 5,
               "Aborted_connects_preauth + 1")


def test_server_offers_tls_directly(mariadb):
    if not mariadb.tls:
        pytest.skip("no openssl: server runs without TLS")
    from pymysql.constants import CLIENT
    conn = _direct(mariadb)
    try:
        assert conn.server_capabilities & CLIENT.SSL
        assert conn.server_capabilities & CLIENT.COMPRESS
    finally:
        conn.close()
