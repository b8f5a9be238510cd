"""Helpers for the abuse tests: raw sockets that never finish a login, and the first packet tether
sends (a greeting, or its own ERR when it refuses at accept)."""
import select
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
        self.queued = []    # sockets with no first packet yet: waiting for a handshake slot

    def connect(self, n):
        for i in range(n):
            s = socket.create_connection((self.host, self.port), timeout=5,
                                         source_address=(self.sources[i % len(self.sources)], 0))
            self._sort(s)
        return self

    def _sort(self, s):
        """By its first packet: a greeting (held, in `open`), an ERR (in `refused`, closed) or nothing."""
        pkt = first_packet(s)
        if pkt is None:
            self.other += 1
            s.close()
        elif pkt[1][:1] == b"\xff":
            self.refused.append(pkt)
            s.close()
        else:
            self.open.append(s)

    def connect_all(self, n, settle=2.0):
        """Opens `n` sockets one after another without waiting for each first packet, then sorts
        them by what came within `settle` seconds of the last: a greeting (held, in `open`), an ERR
        (in `refused`, closed), or nothing yet (waiting in tether's handshake queue, in `queued`)."""
        pending = []
        for i in range(n):
            pending.append(socket.create_connection((self.host, self.port), timeout=5,
                                                    source_address=(self.sources[i % len(self.sources)], 0)))
        deadline = time.monotonic() + settle
        while pending and time.monotonic() < deadline:
            ready, _, _ = select.select(pending, [], [], max(0.0, deadline - time.monotonic()))
            for s in ready:
                pending.remove(s)
                self._sort(s)
        self.queued.extend(pending)
        return self

    def trickle(self):
        """One more byte of a login header on every held socket (a byte of its length field)."""
        for s in self.open:
            try:
                s.send(b"\x01")
            except OSError:
                pass

    def close(self):
        for s in self.open + self.queued:
            s.close()
        self.open, self.queued = [], []


def raw_login(host, port, user, attrs, timeout=5.0):
    """A complete login with connection attributes and a dummy auth response (for logins tether
    refuses before the server sees them). Returns the first packet after it as (seq, payload)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        greeting = first_packet(s, timeout)
        if greeting is None or greeting[1][:1] == b"\xff":
            return greeting
        caps = 0x1 | 0x200 | 0x8000 | 0x80000 | 0x100000  # PROTOCOL_41 SECURE_CONN PLUGIN_AUTH CONNECT_ATTRS
        kv = b"".join(_lenenc(k.encode()) + _lenenc(v.encode()) for k, v in attrs.items())
        payload = struct.pack("<IIB", caps, 1 << 24, 45) + b"\0" * 23
        payload += user.encode() + b"\0" + bytes([20]) + b"\x01" * 20
        payload += b"mysql_native_password\0" + _lenenc(kv)
        s.sendall(len(payload).to_bytes(3, "little") + b"\x01" + payload)
        return first_packet(s, timeout)


def _lenenc(b):
    assert len(b) < 251
    return bytes([len(b)]) + b
