"""TLS on both legs against the real MariaDB (its certificate signed by the test CA of
tests/support/make_test_certs) with real clients: the mariadb CLI, PyMySQL, mysql2 and Connector/J
verify tether's certificate; each login is still attributed from inside TLS; the server's own
Ssl_cipher proves its leg is TLS. Then the failures: a client trusting another CA, an untrusted or
misnamed server under verify-identity, the required modes against peers that cannot, garbage
instead of a ClientHello, a client that stops mid-handshake, and certificate rotation."""
import os
import shutil
import socket
import ssl
import struct
import subprocess
import time

import pymysql
import pytest

from helpers import wait_until
from incident_support import build_java
from node_support import NodeScript
from rawproto import frame, raw_greeting, read_until_closed
from mariadb_server import MariaDB, SECURE_USER


def cert_flags(db, name="tether"):
    return {"tls_cert": db.cert(name), "tls_key": db.key(name)}


def pymysql_tls(t, db, program_name="billing-tls", ca="ca", **kw):
    return pymysql.connect(host="127.0.0.1", port=t.port, user=kw.pop("user", "app"),
                           password=kw.pop("password", "apppw"), database="tether_test",
                           ssl={"ca": db.cert(ca), "check_hostname": True}, program_name=program_name,
                           connect_timeout=5, read_timeout=30, **kw)


def one(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def row_of(t, client):
    rows = [r for r in t.connections() if r["client"] == client]
    assert len(rows) == 1, t.connections()
    return rows[0]


def ssl_request(greeting_payload):
    """The 32-byte SSLRequest (seq 1) a client sends before its TLS handshake."""
    caps = 0x00000200 | 0x00008000 | 0x00080000 | 0x00000800 | 0x00200000  # PROTOCOL_41 SECURE PLUGIN_AUTH SSL LENENC
    return frame(1, struct.pack("<IIB", caps, 16 * 1024 * 1024, 33) + b"\0" * 23)


# -- real clients over a TLS client leg ----------------------------------------------------

def test_pymysql_verifies_tether_and_its_login_is_attributed_from_inside_tls(tether, mariadb):
    t = tether(**cert_flags(mariadb))
    conn = pymysql_tls(t, mariadb)
    try:
        assert conn._sock.version() in ("TLSv1.3", "TLSv1.2")  # the client's own view
        assert one(conn, "SELECT CURRENT_USER()") == ("app@%",)
        # The server's view of its session: tether's leg to it is TLS too.
        assert one(conn, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")[1] != ""
        # A large result through both legs.
        n, digest = one(conn, "SELECT LENGTH(REPEAT('z', 5000000)), MD5(REPEAT('z', 5000000))")
        with conn.cursor() as cur:
            cur.execute("SELECT REPEAT('z', 5000000)")
            (payload,) = cur.fetchone()
        assert n == 5_000_000 and len(payload) == 5_000_000
        row = row_of(t, "billing-tls")
        assert row["user"] == "app"
        assert row["attrs"]["program_name"] == "billing-tls"
        assert row["client_tls"] in ("TLSv1.3", "TLSv1.2")
        assert row["upstream_tls"] in ("TLSv1.3", "TLSv1.2")
    finally:
        conn.close()
    assert t.metrics().value("tether_connections_opened_total", client="billing-tls", user="app") == 1
    wait_until(lambda: "client_tls=TLSv1" in t.log() and "upstream_tls=TLSv1" in t.log(), 5,
               "the session_closed line names both legs' TLS")


def test_mariadb_cli_verifies_the_server_certificate_through_tether(tether, mariadb):
    t = tether(**cert_flags(mariadb))
    r = t.mysql_cli("SHOW SESSION STATUS LIKE 'Ssl_cipher'; SELECT CURRENT_USER()",
                    args=[f"--ssl-ca={mariadb.cert('ca')}", "--ssl-verify-server-cert"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0].split("\t")[1] != "", r.stdout
    assert "app@%" in r.stdout
    assert t.metrics().value("tether_connections_opened_total", client="mysql", user="app") == 1


def test_mysql2_over_tls_runs_prepared_statements_and_large_results(tether, mariadb):
    t = tether(**cert_flags(mariadb))
    os.environ["TETHER_CA"] = mariadb.cert("ca")
    try:
        node = NodeScript(t.port, "mysql2_tls_session.js", "mysql2")
        try:
            assert node.until("execute") == 42
            assert node.until("large") == {"n": 4000000, "length": 4000000}
            assert node.until("server_ssl_cipher") != ""
            assert node.until("done") is True
        finally:
            node.kill()
    finally:
        del os.environ["TETHER_CA"]
    assert t.metrics().value("tether_connections_opened_total", client="node-tls", user="app") == 1


def test_connector_j_verify_full_through_tether(tether, mariadb, tmp_path):
    t = tether(**cert_flags(mariadb))
    cp = build_java("TlsSession", tmp_path / "classes")
    url = (f"jdbc:mariadb://127.0.0.1:{t.port}/tether_test?useSsl=true&serverSslCert={mariadb.cert('ca')}"
           "&connectionAttributes=program_name:java-tls")
    r = subprocess.run(["java", "-cp", cp, "TlsSession", url, "app", "apppw"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 0, r.stdout
    out = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    assert out["execute"] == "42"
    assert out["server_ssl_cipher"] != ""
    assert out["large"] == "3000000"
    assert t.metrics().value("tether_connections_opened_total", client="java-tls", user="app") == 1


def test_plaintext_clients_still_work_under_preferred(tether, mariadb):
    t = tether(**cert_flags(mariadb))
    conn = t.connect(program_name="plain-client")
    try:
        assert one(conn, "SELECT 1") == (1,)
        row = row_of(t, "plain-client")
        assert row["client_tls"] is None
        assert row["upstream_tls"] is not None
    finally:
        conn.close()


def test_an_account_created_require_ssl_gets_in_only_over_a_tls_server_leg(tether, mariadb):
    user, pw = SECURE_USER
    t = tether()
    conn = t.connect(user=user, password=pw)  # plaintext client, TLS server leg
    assert one(conn, "SELECT CURRENT_USER()") == (f"{user}@%",)
    conn.close()
    plain = tether(upstream_tls="disabled")
    with pytest.raises(pymysql.err.OperationalError) as e:
        plain.connect(user=user, password=pw)
    assert e.value.args[0] == 1045, e.value.args


# -- the required modes ----------------------------------------------------------------------

def test_client_tls_required_refuses_a_plaintext_login_with_3159(tether, mariadb, threads_connected):
    t = tether(client_tls="required", **cert_flags(mariadb))
    with pytest.raises(pymysql.err.OperationalError) as e:
        t.connect(program_name="plain-client")
    assert e.value.args[0] == 3159, e.value.args
    assert "insecure transport" in e.value.args[1]
    conn = pymysql_tls(t, mariadb)  # TLS clients are served
    assert one(conn, "SELECT 1") == (1,)
    conn.close()
    wait_until(lambda: t.connections() == [], 5, "no session left")


# -- failures ----------------------------------------------------------------------------------

def test_a_client_trusting_another_ca_fails_clearly_and_is_counted(tether, mariadb):
    t = tether(**cert_flags(mariadb))
    start = time.monotonic()
    with pytest.raises(pymysql.err.OperationalError) as e:
        pymysql_tls(t, mariadb, ca="other-ca")
    assert time.monotonic() - start < 5, "a failed TLS handshake must fail fast, not hang"
    assert "certificate verify failed" in str(e.value), e.value
    wait_until(lambda: t.metrics().get("tether_tls_handshake_failures_total", 0, side="client",
                                       reason="unknown_ca") == 1, 5, "the failure counted as unknown_ca")
    assert "tls_handshake_failed" in t.log()
    wait_until(lambda: t.connections() == [], 5, "the server side finished")
    conn = pymysql_tls(t, mariadb)
    conn.close()


@pytest.mark.parametrize("flags, reason, words", [
    ({"upstream_tls": "verify-identity", "upstream_tls_server_name": "db.example"}, "name_mismatch", "mismatch"),
    ({"upstream_tls": "verify-ca"}, "unknown_ca", "certificate"),
])
def test_an_untrusted_server_refuses_logins_with_the_reason_and_readyz_says_it(tether, mariadb, flags, reason, words,
                                                                                threads_connected):
    if reason == "name_mismatch":
        flags = {**flags, "upstream_tls_ca": mariadb.cert("ca")}
    else:
        flags = {**flags, "upstream_tls_ca": mariadb.cert("other-ca")}
    t = tether(readiness_interval="500ms", **flags)
    with pytest.raises(pymysql.err.OperationalError) as e:
        t.connect()
    assert e.value.args[0] == 2026, e.value.args
    assert words in e.value.args[1], e.value.args
    assert t.metrics().get("tether_tls_handshake_failures_total", 0, side="upstream", reason=reason) >= 1
    status, _, body = t.http("GET", "/readyz")
    assert status == 503 and b"TLS to the server failed" in body, body
    # The server saw a complete TLS handshake and a refused login: no session is left.
    wait_until(lambda: t.connections() == [], 5, "the server side finished")


def test_verify_identity_with_the_right_ca_and_name_gets_in(tether, mariadb):
    t = tether(upstream_tls="verify-identity", upstream_tls_ca=mariadb.cert("ca"), upstream_tls_server_name="localhost")
    t.wait_ready()
    conn = t.connect()
    assert one(conn, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")[1] != ""
    conn.close()


def test_garbage_instead_of_a_client_hello_closes_that_session_only(tether, mariadb):
    t = tether(**cert_flags(mariadb))
    s, greeting = raw_greeting("127.0.0.1", t.port)
    assert struct.unpack_from("<H", greeting, greeting.index(b"\0", 1) + 1 + 4 + 8 + 1)[0] & 0x0800  # CLIENT_SSL offered
    s.sendall(ssl_request(greeting) + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    _, closed = read_until_closed(s, 5)
    assert closed
    wait_until(lambda: t.metrics().get("tether_tls_handshake_failures_total", 0, side="client",
                                       reason="not_tls") == 1, 5, "counted as not_tls")
    wait_until(lambda: t.connections() == [], 5, "the server side finished")
    conn = pymysql_tls(t, mariadb)
    conn.close()


def test_a_client_that_stops_mid_tls_handshake_is_bounded_by_the_handshake_timeout(tether, mariadb):
    t = tether(handshake_timeout="1s", **cert_flags(mariadb))
    s, greeting = raw_greeting("127.0.0.1", t.port)
    # The first bytes of a ClientHello record, then silence.
    s.sendall(ssl_request(greeting) + bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))
    start = time.monotonic()
    _, closed = read_until_closed(s, 5)
    assert closed and time.monotonic() - start < 4
    wait_until(lambda: t.connections() == [], 5, "the server side finished")


# -- rotation ------------------------------------------------------------------------------------

def peer_cert(t, db):
    conn = pymysql_tls(t, db)
    try:
        return conn, conn._sock.getpeercert(binary_form=True)
    except Exception:
        conn.close()
        raise


def test_certificate_rotation_by_replacing_the_files(tether, mariadb, tmp_path):
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    shutil.copy(mariadb.cert("tether"), cert)
    shutil.copy(mariadb.key("tether"), key)
    t = tether(tls_cert=str(cert), tls_key=str(key), tls_reload_interval="200ms")
    old_conn, old = peer_cert(t, mariadb)
    # A pair that does not match (a new certificate, the old key): logged, the old pair kept.
    shutil.copy(mariadb.cert("tether-next"), cert)
    wait_until(lambda: "tls_certificate_reload_failed" in t.log(), 5, "the bad pair is logged")
    conn, seen = peer_cert(t, mariadb)
    assert seen == old
    conn.close()
    # The new key arrives: new connections get the new certificate, the open one keeps working.
    shutil.copy(mariadb.key("tether-next"), key)
    wait_until(lambda: "tls_certificate_reloaded" in t.log(), 5, "the new pair is loaded")
    conn, new = peer_cert(t, mariadb)
    assert new != old
    conn.close()
    assert one(old_conn, "SELECT 'still here'") == ("still here",)
    old_conn.close()
    # SIGHUP reloads at once, whatever the interval.
    shutil.copy(mariadb.cert("tether"), cert)
    shutil.copy(mariadb.key("tether"), key)
    t.proc.send_signal(__import__("signal").SIGHUP)
    wait_until(lambda: t.log().count("tls_certificate_reloaded") >= 2, 5, "reloaded on SIGHUP")
    conn, back = peer_cert(t, mariadb)
    assert back == old
    conn.close()


def test_bad_tls_flags_exit_2_naming_the_flag(mariadb, tmp_path):
    from tether_proc import run_tether
    r = run_tether(["--upstream", f"127.0.0.1:{mariadb.port}", "--tls-cert", "/nonexistent.pem", "--tls-key",
                    mariadb.key("tether")])
    assert r.returncode == 2 and "--tls-cert" in r.stderr, r.stderr
    r = run_tether(["--upstream", f"127.0.0.1:{mariadb.port}", "--client-tls", "required"])
    assert r.returncode == 2 and "--client-tls" in r.stderr, r.stderr
    r = run_tether(["--upstream", f"127.0.0.1:{mariadb.port}", "--tls-cert", mariadb.cert("tether"),
                    "--tls-key", mariadb.key("tether-next")])
    assert r.returncode == 2 and "--tls-cert" in r.stderr, r.stderr


# -- a server with an expired certificate and require_secure_transport=ON ---------------------------

@pytest.fixture(scope="module")
def strict_db():
    """A second server: require_secure_transport=ON, presenting the test CA's expired certificate."""
    db = MariaDB(extra_args=["--require-secure-transport=ON"], server_cert="expired").start()
    try:
        yield db
    finally:
        db.stop()


def test_require_secure_transport_needs_tls_on_the_server_leg(tether, strict_db):
    t = tether(upstream=f"127.0.0.1:{strict_db.port}")
    conn = t.connect()  # preferred: TLS to the server (its certificate is not checked)
    assert one(conn, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")[1] != ""
    conn.close()
    plain = tether(upstream=f"127.0.0.1:{strict_db.port}", upstream_tls="disabled")
    with pytest.raises(pymysql.err.OperationalError) as e:
        plain.connect()
    # MySQL answers 3159 (ER_SECURE_TRANSPORT_REQUIRED); MariaDB 10.11 answers 1045.
    assert e.value.args[0] in (3159, 1045), e.value.args


def test_an_expired_server_certificate_is_refused_under_verify_ca(tether, strict_db):
    t = tether(upstream=f"127.0.0.1:{strict_db.port}", upstream_tls="verify-ca", upstream_tls_ca=strict_db.cert("ca"))
    with pytest.raises(pymysql.err.OperationalError) as e:
        t.connect()
    assert e.value.args[0] == 2026 and "expired" in e.value.args[1], e.value.args
    assert t.metrics().get("tether_tls_handshake_failures_total", 0, side="upstream", reason="expired") >= 1
