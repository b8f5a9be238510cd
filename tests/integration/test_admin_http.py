"""The admin HTTP endpoint: routes, methods, malformed and oversized requests."""
import json

import pytest

from helpers import metric_types, raw_http, wait_until


def test_healthz_readyz_metrics_connections(tether):
    t = tether()
    assert t.http("GET", "/healthz")[0] == 200
    t.wait_ready()
    status, headers, body = t.http("GET", "/metrics")
    assert status == 200
    assert headers.get("content-type", "").startswith("text/plain"), headers
    assert b"tether_build_info" in body
    status, headers, body = t.http("GET", "/connections")
    assert status == 200
    assert "json" in headers.get("content-type", ""), headers
    assert json.loads(body) == []


@pytest.mark.parametrize("path", ["/nope", "/metricsx", "/metrics/extra", "/connections/abc/xyz"])
def test_unknown_path_is_404(tether, path):
    t = tether()
    assert t.http("GET", path)[0] == 404


@pytest.mark.parametrize("method,path", [("POST", "/metrics"), ("DELETE", "/healthz"),
                                         ("PUT", "/connections"), ("POST", "/readyz")])
def test_wrong_method_is_405(tether, method, path):
    t = tether()
    status, headers, _ = t.http(method, path, body=b"")
    assert status == 405


def test_query_string_is_ignored_for_routing(tether):
    t = tether()
    assert t.http("GET", "/healthz?verbose=1")[0] == 200


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET /metrics HTTP/9.9\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
    b"\x00\x01\x02\x03\xff\xfe\r\n\r\n",
], ids=["garbage", "bad-version", "bad-content-length", "binary"])
def test_malformed_request_is_400(tether, request_bytes):
    t = tether()
    status, raw = raw_http(t.host, t.admin_port, request_bytes)
    assert status == 400, raw[:200]
    assert t.http("GET", "/healthz")[0] == 200


def test_oversized_request_is_400(tether):
    t = tether()
    big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
    status, raw = raw_http(t.host, t.admin_port, big)
    assert status in (400, 413, 431), raw[:200]
    assert t.http("GET", "/healthz")[0] == 200


def test_oversized_url_is_rejected(tether):
    t = tether()
    status, raw = raw_http(t.host, t.admin_port, b"GET /" + b"a" * 200000 + b" HTTP/1.1\r\n\r\n")
    assert status in (400, 414, 431), raw[:200]
    assert t.http("GET", "/healthz")[0] == 200


def test_admin_client_that_never_finishes_does_not_block_others(tether):
    import socket
    t = tether()
    s = socket.create_connection((t.host, t.admin_port))
    try:
        s.sendall(b"GET /metr")
        assert t.http("GET", "/healthz", timeout=3)[0] == 200
        assert t.metrics()  # still answers
    finally:
        s.close()


def test_metrics_format_and_families(tether):
    t = tether()
    conn = t.connect(program_name="fmt")
    conn.close()
    wait_until(lambda: t.metrics().value("tether_connections_closed_total", reason="client_quit") >= 1,
               5, "a client_quit close counted")
    held = t.connect(program_name="fmt")  # so that the gauge family has a series
    # process_* are sampled by a periodic tick: allow one
    wait_until(lambda: t.metrics().has("process_open_fds"), 5, "a process_open_fds sample")
    text = t.metrics_text()
    held.close()
    types = metric_types(text)
    expected = {
        "tether_client_connections": "gauge",
        "tether_upstream_connections": "gauge",
        "tether_connections_opened_total": "counter",
        "tether_connections_closed_total": "counter",
        "tether_connection_duration_seconds": "histogram",
        "tether_build_info": "gauge",
        "process_open_fds": "gauge",
        "process_resident_memory_bytes": "gauge",
    }
    for name, typ in expected.items():
        # prometheus-cpp declares counters by their full name or without _total
        got = types.get(name) or types.get(name[:-len("_total")] if name.endswith("_total") else name)
        assert got == typ, f"# TYPE of {name}: {got!r}, expected {typ!r}"
    # (labelled families without any series, like tether_auth_failures_total here, may be absent)
    assert types.get("tether_orphans_closed_total", types.get("tether_orphans_closed")) == "counter"
    m = t.metrics()
    assert m.value("tether_connection_duration_seconds_count") >= 1
    assert m.series("tether_connection_duration_seconds_bucket")
    inf = m.get("tether_connection_duration_seconds_bucket", le="+Inf")
    assert inf == m.value("tether_connection_duration_seconds_count")
    assert m.value("process_open_fds") > 0
    assert m.value("process_resident_memory_bytes") > 1024 * 1024
    assert m.value("tether_orphans_closed_total") == 0


def test_build_info_matches_version_flag(tether):
    from tether_proc import run_tether
    r = run_tether(["--version"])
    t = tether()
    (key,) = t.metrics().series("tether_build_info")
    version = dict(key[1])["version"]
    assert version and version in r.stdout + r.stderr, (version, r.stdout, r.stderr)
    assert t.metrics()[key] == 1


def test_keep_alive_and_sequential_requests(tether):
    """Scrapers reuse connections: several requests on one HTTP/1.1 connection all get answers."""
    import http.client
    t = tether()
    conn = http.client.HTTPConnection(t.host, t.admin_port, timeout=5)
    try:
        for path, want in (("/healthz", 200), ("/metrics", 200), ("/nope", 404), ("/connections", 200)):
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            assert r.status == want, (path, r.status)
    finally:
        conn.close()


def test_concurrent_scrapes(tether):
    import threading
    t = tether()
    errors = []

    def scrape():
        try:
            for _ in range(20):
                t.metrics()
                t.connections()
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=scrape) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors, errors[:3]


def test_head_answers_headers_with_the_body_length_and_no_body(tether):
    """HEAD gets GET's head (Content-Length of the body it would get) and nothing after it: the
    next response on the same keep-alive connection starts right after the blank line."""
    import socket
    t = tether()
    s = socket.create_connection((t.host, t.admin_port), timeout=5)
    try:
        s.sendall(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    finally:
        s.close()
    parts = raw.split(b"\r\n\r\n")
    assert len(parts) == 4 and parts[3] == b"ok\n", raw
    metrics_head, healthz_head, get_head = parts[0], parts[1], parts[2]
    assert metrics_head.startswith(b"HTTP/1.1 200 OK\r\n"), raw
    length = int(dict(line.split(b": ", 1) for line in metrics_head.split(b"\r\n")[1:])[b"Content-Length"])
    body = t.http("GET", "/metrics")[2]
    assert abs(length - len(body)) < len(body) // 4, (length, len(body))
    assert healthz_head.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nContent-Length: 3" in healthz_head, raw
    assert get_head.startswith(b"HTTP/1.1 200 OK\r\n"), raw
