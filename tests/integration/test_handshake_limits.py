"""Handshake limits: a login too large for tether gets a MySQL ERR it can read, not a TCP reset,
and a client that floods bytes behind its login pins nothing once it is logged in."""
import socket
import struct

import pymysql

import rawproto
from tether_proc import wait_closed_reason

MAX_LOGIN = 256 * 1024


def login_payload(user, extra_attr_bytes):
    """A HandshakeResponse41 for `user` with one connection attribute of `extra_attr_bytes`."""
    caps = 0x1 | 0x200 | 0x8000 | 0x80000 | 0x100000 | 0x200000  # LONG_PASSWORD PROTOCOL_41 SECURE PLUGIN_AUTH CONNECT_ATTRS LENENC
    payload = struct.pack("<IIB", caps, 16 * 1024 * 1024, 33) + b"\0" * 23
    payload += user.encode() + b"\0" + b"\0" + b"mysql_native_password\0"
    kv = rawproto.lenenc_str(b"big") + rawproto.lenenc_str(b"x" * extra_attr_bytes)
    payload += rawproto.lenenc_str(kv)
    return payload


def read_packet(s):
    hdr = rawproto.recv_exact(s, 4)
    n = int.from_bytes(hdr[:3], "little")
    return hdr[3], rawproto.recv_exact(s, n)


def test_login_over_the_limit_gets_an_err(tether):
    t = tether()
    s, greeting = rawproto.raw_greeting(t.host, t.port)
    assert greeting[0] == 10
    for size in (MAX_LOGIN + 1000, 1 << 20, 4 << 20, 12 << 20):
        s, greeting = rawproto.raw_greeting(t.host, t.port)
        payload = login_payload("app", size)
        try:
            s.sendall(len(payload).to_bytes(3, "little") + b"\x01" + payload)
            seq, err = read_packet(s)
            print(size, seq, err[:100])
        except Exception as e:
            print(size, "EXC", repr(e))
