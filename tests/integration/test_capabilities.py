"""What the client sees of the server through tether: the greeting's thread id and version pass
through; CLIENT_SSL is cleared (tether does not terminate TLS), so real clients fall back to plain
sessions that tether can read; CLIENT_COMPRESS passes as the server offers it (tether decodes it)."""
import pytest
from pymysql.constants import CLIENT


def test_greeting_passes_thread_id_and_version(tether, mariadb):
    t = tether()
    conn = t.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID(), VERSION()")
            tid, version = cur.fetchone()
        assert conn.server_thread_id[0] == tid, "greeting thread id != CONNECTION_ID()"
        assert version in conn.server_version, (version, conn.server_version)
        assert "MariaDB" in conn.server_version
    finally:
        conn.close()


def test_ssl_cleared_compression_offered(tether, mariadb):
    t = tether()
    conn = t.connect()
    direct = mariadb.connect_root()
    try:
        assert not conn.server_capabilities & CLIENT.SSL, "tether must not offer TLS it cannot terminate"
        assert direct.server_capabilities & CLIENT.COMPRESS, "the test server offers compression"
        assert conn.server_capabilities & CLIENT.COMPRESS, "tether offers the compression the server offers"
        assert conn.server_capabilities & CLIENT.PROTOCOL_41
        assert conn.server_capabilities & CLIENT.PLUGIN_AUTH
        assert conn.server_capabilities & CLIENT.CONNECT_ATTRS
    finally:
        conn.close()
        direct.close()


def test_cli_wanting_compression_still_works(tether):
    t = tether()
    r = t.mysql_cli("SELECT REPEAT('c', 10000) = REPEAT('c', 10000), CURRENT_USER()", args=["--compress"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "app@%"]


def test_a_plaintext_client_gets_a_tls_server_leg_by_default(tether):
    """--upstream-tls preferred (the default, as MySQL's clients): the server offers TLS, so tether's
    leg to it is TLS though the client's is not, and tether still reads the login."""
    t = tether()
    r = t.mysql_cli("SHOW SESSION STATUS LIKE 'Ssl_cipher'", args=["--skip-ssl"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\t")[1].strip() != "", r.stdout  # the server's own view of its session
    assert t.metrics().value("tether_connections_opened_total", client="mysql", user="app") == 1


def test_upstream_tls_disabled_speaks_plain_tcp_to_the_server(tether):
    t = tether(upstream_tls="disabled")
    r = t.mysql_cli("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\t")[1].strip() == "", r.stdout
    assert t.metrics().value("tether_connections_opened_total", client="mysql", user="app") == 1


def test_cli_demanding_tls_fails_cleanly(tether):
    """A client that insists on a verified TLS session cannot get one from a tether without a
    certificate (no --tls-cert: TLS is not offered): it must fail with its own error (not hang), and
    tether keeps serving."""
    t = tether()
    r = t.mysql_cli("SELECT 1", args=["--ssl-verify-server-cert"], timeout=20)
    assert r.returncode != 0, "a verified TLS session through tether cannot succeed:\n" + r.stdout
    assert "ERROR" in r.stderr, r.stderr
    assert t.alive()
    conn = t.connect()
    conn.close()
