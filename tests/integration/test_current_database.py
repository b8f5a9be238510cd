"""/connections shows the database a session is in now, not the one it logged in with: the mariadb
CLI's USE (COM_INIT_DB), PyMySQL's select_db (COM_INIT_DB), and USE sent as SQL (COM_QUERY, read
from the OK's SESSION_TRACK_SCHEMA); a refused USE changes nothing."""
import subprocess

from helpers import wait_until


def database_of(t, tid):
    row = t.connection_by_thread(tid)
    return row["database"] if row else None


def cli_session(t, args=()):
    """An interactive-ish mariadb CLI through tether, reading statements from a pipe."""
    argv = ["mariadb", "--no-defaults", "--batch", "--skip-column-names", "--user=app",
            "--password=apppw", "--protocol=TCP", f"--host={t.host}", f"--port={t.port}",
            "--database=tether_test", "--unbuffered", "--force", *args]
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, bufsize=1)


def cli_ask(proc, sql):
    proc.stdin.write(sql + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def run_cli_use(t, mariadb, use):
    proc = cli_session(t, args=("--comments",))
    try:
        tid = int(cli_ask(proc, "SELECT CONNECTION_ID();"))
        assert database_of(t, tid) == "tether_test"
        assert cli_ask(proc, f"{use} information_schema; SELECT DATABASE();") == "information_schema"
        wait_until(lambda: database_of(t, tid) == "information_schema", 5,
                   "/connections shows information_schema")
        # A USE the server refuses (ERR 1044) leaves it where it was.
        proc.stdin.write(f"{use} mysql;\n")
        assert cli_ask(proc, "SELECT DATABASE();") == "information_schema"
        assert database_of(t, tid) == "information_schema"
        assert cli_ask(proc, f"{use} tether_test; SELECT DATABASE();") == "tether_test"
        wait_until(lambda: database_of(t, tid) == "tether_test", 5, "/connections back at tether_test")
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    assert t.metrics().sum("tether_protocol_desyncs_total") == 0


def test_cli_use_builtin_com_init_db(tether, mariadb):
    run_cli_use(tether(), mariadb, "USE")


def test_cli_use_as_sql_com_query(tether, mariadb):
    # A statement that starts with a comment is not the CLI's builtin: it reaches the server as
    # COM_QUERY, and the OK's session state names the new schema.
    run_cli_use(tether(), mariadb, "/* app */ USE")


def test_pymysql_select_db(tether):
    t = tether()
    conn = t.connect(program_name="selector")
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        tid = cur.fetchone()[0]
    assert database_of(t, tid) == "tether_test"
    conn.select_db("information_schema")
    assert database_of(t, tid) == "information_schema"
    conn.select_db("tether_test")
    assert database_of(t, tid) == "tether_test"
    conn.close()
