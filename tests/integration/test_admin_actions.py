"""Admin actions over HTTP: POST /connections/{id}/close (close reason admin) and the access rule
for the POST routes (loopback listener: open; non-loopback: only "Authorization: Bearer
<--admin-token>", else 403), --connections-require-token, and no auth data in /connections."""
import base64
import http.client
import json

from helpers import wait_until
from mariadb_server import free_port
from policy_support import (assert_connection_dead, native_scramble, query, sha1, thread_id,
                            wait_exit, wait_session_gone)
from tether_proc import closed_counts, wait_closed_reason

TOKEN = "s3cret"
# A short drain, so that a failing test's open sessions do not hold up the fixture's SIGTERM.
FAST_STOP = {"shutdown_grace": "3s"}


def _close(t, sid, headers=None):
    return t.http("POST", f"/connections/{sid}/close", body=b"", headers=headers)


def test_admin_close_ends_exactly_one_session(tether, mariadb):
    t = tether(**FAST_STOP)
    aborted = mariadb.status("Aborted_clients")
    victim = t.connect(program_name="admin-victim")
    keeper = t.connect(program_name="admin-keeper")
    tid, keeper_tid = thread_id(victim), thread_id(keeper)
    entry = t.connection_by_thread(tid)
    assert entry is not None, t.connections()

    status, _, body = _close(t, entry["id"])
    assert status == 200, (status, body)
    reply = json.loads(body)
    assert set(reply) == {"closed"} and str(reply["closed"]) == str(entry["id"]), body

    wait_session_gone(t, mariadb, tid)
    wait_closed_reason(t, "admin", 1)
    assert_connection_dead(victim, "admin-closed session")
    # exactly that one: the other session is untouched and works
    assert [c["upstream_thread_id"] for c in t.connections()] == [keeper_tid], t.connections()
    assert keeper_tid in mariadb.thread_ids()
    assert query(keeper, "SELECT 1") == ((1,),)
    assert closed_counts(t).get("admin") == 1, closed_counts(t)
    assert mariadb.status("Aborted_clients") == aborted, \
        "server counted an aborted client: tether did not send COM_QUIT on the admin close"
    # closing it again: it no longer exists
    assert _close(t, entry["id"])[0] == 404
    keeper.close()


def test_admin_close_unknown_id_and_wrong_method(tether):
    t = tether(**FAST_STOP)
    conn = t.connect(program_name="admin-method")
    tid = thread_id(conn)
    sid = t.connection_by_thread(tid)["id"]
    assert _close(t, 987654321)[0] == 404
    assert _close(t, "nonsense")[0] in (400, 404)
    assert t.http("GET", f"/connections/{sid}/close")[0] == 405
    # neither closed anything
    assert t.connection_by_thread(tid) is not None
    assert query(conn, "SELECT 1") == ((1,),)
    assert closed_counts(t).get("admin", 0) == 0
    conn.close()


def test_token_required_on_non_loopback_listener(tether, mariadb):
    t = tether(**FAST_STOP, admin=f"0.0.0.0:{free_port()}", admin_token=TOKEN)
    conn = t.connect(program_name="token-victim")
    tid = thread_id(conn)
    sid = t.connection_by_thread(tid)["id"]

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}x"},
                    {"Authorization": "Bearer s3cre"}, {"Authorization": TOKEN},
                    {"Authorization": "Bearer "}, {"Authorization": f"Basic {TOKEN}"}):
        status, _, body = _close(t, sid, headers)
        assert status == 403, f"POST close with headers {headers} answered {status}: {body[:200]!r}"
        assert t.http("POST", "/quitquitquit", body=b"", headers=headers)[0] == 403, headers
    assert t.connection_by_thread(tid) is not None, "a refused POST closed the session"
    assert query(conn, "SELECT 1") == ((1,),)
    assert t.alive(), "a refused /quitquitquit stopped tether"

    # the read-only routes stay open without a token
    t.wait_ready()
    for path in ("/metrics", "/healthz", "/readyz", "/connections"):
        assert t.http("GET", path)[0] == 200, path

    status, _, body = _close(t, sid, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, (status, body)
    wait_session_gone(t, mariadb, tid)
    assert_connection_dead(conn, "session closed with the token")
    assert closed_counts(t).get("admin") == 1

    # /quitquitquit with the token stops tether (nothing open: at once)
    try:
        status = t.http("POST", "/quitquitquit", body=b"",
                        headers={"Authorization": f"Bearer {TOKEN}"})[0]
    except (http.client.HTTPException, ConnectionError) as e:
        raise AssertionError(f"POST /quitquitquit got no answer ({e!r}); tether alive: {t.alive()}")
    assert status == 200, status
    assert wait_exit(t, 5) == 0


def test_non_loopback_without_configured_token_refuses_posts(tether):
    t = tether(**FAST_STOP, admin=f"0.0.0.0:{free_port()}")
    conn = t.connect(program_name="no-token")
    tid = thread_id(conn)
    sid = t.connection_by_thread(tid)["id"]
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer anything"}):
        assert _close(t, sid, headers)[0] == 403, headers
        assert t.http("POST", "/quitquitquit", body=b"", headers=headers)[0] == 403, headers
    assert t.connection_by_thread(tid) is not None
    assert query(conn, "SELECT 1") == ((1,),)
    assert t.http("GET", "/connections")[0] == 200
    conn.close()


def test_loopback_listener_needs_no_token(tether, mariadb):
    t = tether(**FAST_STOP, admin_token=TOKEN, connections_require_token=True)  # admin on 127.0.0.1
    conn = t.connect(program_name="loopback")
    tid = thread_id(conn)
    assert t.http("GET", "/connections")[0] == 200, "loopback /connections needed a token"
    sid = t.connection_by_thread(tid)["id"]
    assert _close(t, sid)[0] == 200
    wait_session_gone(t, mariadb, tid)


def test_connections_require_token(tether):
    t = tether(**FAST_STOP, admin=f"0.0.0.0:{free_port()}", admin_token=TOKEN,
               connections_require_token=True)
    conn = t.connect(program_name="conn-token")
    thread_id(conn)
    assert t.http("GET", "/connections")[0] == 403
    assert t.http("GET", "/connections", headers={"Authorization": "Bearer nope"})[0] == 403
    status, _, body = t.http("GET", "/connections", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, (status, body[:200])
    data = json.loads(body)
    assert [c["client"] for c in data] == ["conn-token"], data
    for path in ("/metrics", "/healthz"):
        assert t.http("GET", path)[0] == 200, path
    assert t.http("GET", "/readyz")[0] in (200, 503)  # never 403
    conn.close()


def test_connections_shows_no_auth_data(tether):
    t = tether(**FAST_STOP)
    conns = [t.connect(program_name="auth-probe"),
             t.connect(user="other", password="otherpw", database=None)]
    for c in conns:
        query(c, "SELECT 1")
    status, _, body = t.http("GET", "/connections")
    assert status == 200
    data = json.loads(body)
    assert len(data) == 2, data
    text = body.decode("utf-8", errors="replace")
    flat = json.dumps(data)
    for c, pw in zip(conns, ("apppw", "otherpw")):
        secrets = {pw, pw.encode().hex(), pw.encode().hex().upper(),
                   sha1(pw.encode()).hex(), sha1(sha1(pw.encode())).hex().upper(),
                   base64.b64encode(pw.encode()).decode()}
        if getattr(c, "salt", None):
            scr = native_scramble(pw, c.salt)
            secrets |= {scr.hex(), scr.hex().upper(), base64.b64encode(scr).decode(),
                        scr.decode("latin-1")}
        for s in secrets:
            assert s not in text and s not in flat, f"/connections contains auth data {s!r}: {text}"

    def keys(o):
        if isinstance(o, dict):
            for k, v in o.items():
                yield k
                yield from keys(v)
        elif isinstance(o, list):
            for v in o:
                yield from keys(v)
    bad = [k for k in keys(data) if any(w in k.lower() for w in ("password", "auth_response",
                                                                   "scramble", "authresp"))]
    assert not bad, f"/connections has auth fields {bad}: {data}"
    for c in conns:
        c.close()
