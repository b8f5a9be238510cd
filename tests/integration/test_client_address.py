"""The client address tether shows for a session is the client's own: IP and port, IPv4 and IPv6."""
import socket

import pymysql


def _row_of(t, conn):
    thread_id = conn.thread_id()
    row = t.connection_by_thread(thread_id)
    assert row is not None, f"no /connections row for server thread {thread_id}: {t.connections()}"
    return row


def test_ipv4_client_addresses_and_ports(tether):
    t = tether()
    # All of 127.0.0.0/8 is loopback: source addresses with octets of one, two and three digits and 0.
    for source in ("127.0.0.1", "127.0.10.255", "127.100.20.3"):
        conn = t.connect(bind_address=source)
        try:
            host, port = conn._sock.getsockname()[:2]
            assert host == source
            assert _row_of(t, conn)["peer"] == f"{source}:{port}"
        finally:
            conn.close()


def test_ipv6_client_address_and_port(tether):
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))  # a free port on the IPv6 loopback
        port = probe.getsockname()[1]
    t = tether(listen=f"[::1]:{port}")
    conn = pymysql.connect(host="::1", port=port, user="app", password="apppw", database="tether_test",
                           connect_timeout=10)
    try:
        host, client_port = conn._sock.getsockname()[:2]
        assert host == "::1"
        assert _row_of(t, conn)["peer"] == f"[::1]:{client_port}"
    finally:
        conn.close()
