"""Helpers for the abuse tests: raw sockets that never finish a login, and the first packet tether
sends (a greeting, or its own ERR when it refuses at accept)."""
import socket
import struct
import time


def first_packet(s, timeout=5.0):
    """(sequence id, payload) of the first packet on `s`, or None if it closed first."""
    s.settimeout(timeout)
    head = b""
    while len(head) < 4:
        b = s.recv(4 - len(head))
        if not b:
            return None
        head += b
    length = int.from_bytes(head[:3], "little")
    payload = b""
    while len(payload) < length:
        b = s.recv(length - len(payload))
        if not b:
            return None
        payload += b
    return head[3], payload


def parse_err(payload):
    """(code, sqlstate, message) of an ERR payload (PROTOCOL_41 form)."""
    assert payload[0] == 0xFF, payload[:16]
    code = struct.unpack_from("<H", payload, 1)[0]
    assert payload[3:4] == b"#", payload[:16]
    return code, payload[4:9].decode(), payload[9:].decode(errors="replace")


def closed_by_peer(s, timeout=5.0):
    """True once the peer closed `s` (EOF or reset) within `timeout`."""
    s.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not s.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return False


class Slowloris:
    """Opens sockets to (host, port) from `source` addresses that read the first packet and then
    trickle one byte of a login every so often, never finishing it."""

    def __init__(self, host, port, sources):
        self.host, self.port, self.sources = host, port, list(sources)
        self.open = []      # sockets that got a greeting and are held
        self.refused = []   # (seq, payload) of the ERR packets of refused ones
        self.other = 0      # closed without a packet

    def connect(self, n):
        for i in range(n):
            s = socket.create_connection((self.host, self.port), timeout=5,
                                         source_address=(self.sources[i % len(self.sources)], 0))
            pkt = first_packet(s)
            if pkt is None:
                self.other += 1
                s.close()
            elif pkt[1][:1] == b"\xff":
                self.refused.append(pkt)
                s.close()
            else:
                self.open.append(s)
        return self

    def trickle(self):
        """One more byte of a login header on every held socket (a byte of its length field)."""
        for s in self.open:
            try:
                s.send(b"\x01")
            except OSError:
                pass

    def close(self):
        for s in self.open:
            s.close()
        self.open = []
