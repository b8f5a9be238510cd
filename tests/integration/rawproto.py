"""Hand-rolled MySQL commands that PyMySQL has no API for, sent over a live PyMySQL connection.

PyMySQL (1.0.2) cannot COM_CHANGE_USER, COM_RESET_CONNECTION, COM_STATISTICS, COM_FIELD_LIST or
the binary prepared-statement commands; these use its packet layer (write_packet/_read_packet,
which splits and joins 16 MB packets and raises on ERR) to send them exactly as a driver would.
"""
import socket
import struct

from pymysql import _auth
from pymysql.charset import charset_by_name
from pymysql.constants import CLIENT

COM_STATISTICS = 0x09
COM_FIELD_LIST = 0x04
COM_CHANGE_USER = 0x11
COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17
COM_STMT_SEND_LONG_DATA = 0x18
COM_STMT_CLOSE = 0x19
COM_STMT_RESET = 0x1A
COM_RESET_CONNECTION = 0x1F

MYSQL_TYPE_LONGLONG = 0x08
MYSQL_TYPE_VAR_STRING = 0xFD
MYSQL_TYPE_BLOB = 0xFC


def lenenc_int(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    if n < 1 << 24:
        return b"\xfd" + struct.pack("<I", n)[:3]
    return b"\xfe" + struct.pack("<Q", n)


def lenenc_str(b):
    return lenenc_int(len(b)) + b


def read_lenenc_int(data, pos):
    first = data[pos]
    if first < 0xFB:
        return first, pos + 1
    if first == 0xFB:
        return None, pos + 1
    if first == 0xFC:
        return struct.unpack_from("<H", data, pos + 1)[0], pos + 3
    if first == 0xFD:
        return int.from_bytes(data[pos + 1:pos + 4], "little"), pos + 4
    return struct.unpack_from("<Q", data, pos + 1)[0], pos + 9


def _send(conn, payload):
    conn._next_seq_id = 0
    conn.write_packet(payload)


def _is_eof(pkt):
    return pkt.is_eof_packet()


def change_user(conn, user, password, database, attrs=None):
    """COM_CHANGE_USER with mysql_native_password; follows an AuthSwitchRequest if one comes.
    Raises pymysql's error on ERR (e.g. 1045). Returns the final OK packet."""
    scramble = _auth.scramble_native_password(password.encode(), conn.salt[:20])
    payload = bytes([COM_CHANGE_USER]) + user.encode() + b"\0"
    payload += bytes([len(scramble)]) + scramble
    payload += database.encode() + b"\0"
    payload += struct.pack("<H", charset_by_name(conn.charset).id)
    payload += b"mysql_native_password\0"
    if conn.server_capabilities & CLIENT.CONNECT_ATTRS:
        kv = b"".join(lenenc_str(k.encode()) + lenenc_str(v.encode())
                      for k, v in (attrs or {}).items())
        payload += lenenc_str(kv)
    _send(conn, payload)
    pkt = conn._read_packet()
    if pkt.is_auth_switch_request():
        pkt.read_uint8()
        plugin = pkt.read_string()
        salt = pkt.read_all()
        if plugin != b"mysql_native_password":
            raise AssertionError(f"server switched to unexpected plugin {plugin!r}")
        conn.write_packet(_auth.scramble_native_password(password.encode(), salt.rstrip(b"\0")))
        pkt = conn._read_packet()
    assert pkt.is_ok_packet(), f"COM_CHANGE_USER: expected OK, got {pkt.get_all_data()!r}"
    return pkt


def reset_connection(conn):
    _send(conn, bytes([COM_RESET_CONNECTION]))
    pkt = conn._read_packet()
    assert pkt.is_ok_packet(), f"COM_RESET_CONNECTION: expected OK, got {pkt.get_all_data()!r}"
    return pkt


def statistics(conn):
    """COM_STATISTICS: the reply is a bare string packet (neither OK nor ERR nor a result set)."""
    _send(conn, bytes([COM_STATISTICS]))
    return conn._read_packet().get_all_data().decode()


def field_list(conn, table, wildcard=""):
    """COM_FIELD_LIST: column definitions then EOF. Returns the column names."""
    _send(conn, bytes([COM_FIELD_LIST]) + table.encode() + b"\0" + wildcard.encode())
    names = []
    while True:
        pkt = conn._read_packet()
        if _is_eof(pkt):
            return names
        data = pkt.get_all_data()
        pos = 0
        fields = []
        for _ in range(5):  # catalog, schema, table, org_table, name
            n, pos = read_lenenc_int(data, pos)
            fields.append(data[pos:pos + n])
            pos += n
        names.append(fields[4].decode())


class Statement:
    def __init__(self, stmt_id, num_columns, num_params):
        self.id = stmt_id
        self.num_columns = num_columns
        self.num_params = num_params


def stmt_prepare(conn, sql):
    _send(conn, bytes([COM_STMT_PREPARE]) + sql.encode())
    pkt = conn._read_packet()
    data = pkt.get_all_data()
    assert data[0] == 0, f"COM_STMT_PREPARE: expected OK, got {data!r}"
    stmt_id, ncols, nparams = struct.unpack_from("<IHH", data, 1)
    deprecate_eof = conn.client_flag & CLIENT.DEPRECATE_EOF if hasattr(conn, "client_flag") else 0
    for count in (nparams, ncols):
        for _ in range(count):
            conn._read_packet()
        if count and not deprecate_eof:
            assert _is_eof(conn._read_packet()), "expected EOF after definitions"
    return Statement(stmt_id, ncols, nparams)


def stmt_send_long_data(conn, stmt, param, data):
    """COM_STMT_SEND_LONG_DATA: the server sends no reply."""
    _send(conn, bytes([COM_STMT_SEND_LONG_DATA]) + struct.pack("<IH", stmt.id, param) + data)


def stmt_close(conn, stmt):
    """COM_STMT_CLOSE: the server sends no reply."""
    _send(conn, bytes([COM_STMT_CLOSE]) + struct.pack("<I", stmt.id))


def stmt_execute(conn, stmt, params, long_data_params=()):
    """COM_STMT_EXECUTE with int/str/bytes/None parameters; returns rows as lists of
    Python values (ints for LONGLONG columns, bytes otherwise)."""
    payload = bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", stmt.id, 0, 1)
    n = stmt.num_params
    if n:
        nulls = bytearray((n + 7) // 8)
        types = b""
        values = b""
        for i, p in enumerate(params):
            if i in long_data_params:
                types += struct.pack("<BB", MYSQL_TYPE_BLOB, 0)
            elif p is None:
                nulls[i // 8] |= 1 << (i % 8)
                types += struct.pack("<BB", MYSQL_TYPE_VAR_STRING, 0)
            elif isinstance(p, int):
                types += struct.pack("<BB", MYSQL_TYPE_LONGLONG, 0)
                values += struct.pack("<q", p)
            else:
                b = p.encode() if isinstance(p, str) else p
                types += struct.pack("<BB", MYSQL_TYPE_VAR_STRING, 0)
                values += lenenc_str(b)
        payload += bytes(nulls) + b"\x01" + types + values
    _send(conn, payload)
    pkt = conn._read_packet()
    data = pkt.get_all_data()
    if data[0] == 0:  # OK: no result set
        return None
    ncols, _ = read_lenenc_int(data, 0)
    col_types = []
    for _ in range(ncols):
        d = conn._read_packet().get_all_data()
        pos = 0
        for _ in range(6):  # catalog schema table org_table name org_name
            ln, pos = read_lenenc_int(d, pos)
            pos += ln
        pos += 1 + 2 + 4  # length of fixed fields, charset, column length
        col_types.append(d[pos])
    assert _is_eof(conn._read_packet()), "expected EOF after column definitions"
    rows = []
    while True:
        pkt = conn._read_packet()
        d = pkt.get_all_data()
        if d[0] == 0xFE and len(d) < 9:
            return rows
        nb = (ncols + 7 + 2) // 8
        bitmap = d[1:1 + nb]
        pos = 1 + nb
        row = []
        for i, t in enumerate(col_types):
            bit = i + 2
            if bitmap[bit // 8] & (1 << (bit % 8)):
                row.append(None)
            elif t == MYSQL_TYPE_LONGLONG:
                row.append(struct.unpack_from("<q", d, pos)[0])
                pos += 8
            elif t in (0x03,):  # LONG
                row.append(struct.unpack_from("<i", d, pos)[0])
                pos += 4
            else:
                ln, pos = read_lenenc_int(d, pos)
                row.append(bytes(d[pos:pos + ln]))
                pos += ln
        rows.append(row)


def raw_greeting(host, port, timeout=5.0):
    """Open a TCP connection and read one MySQL packet (the greeting). Returns (sock, payload)."""
    s = socket.create_connection((host, port), timeout=timeout)
    hdr = recv_exact(s, 4)
    n = int.from_bytes(hdr[:3], "little")
    return s, recv_exact(s, n)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise ConnectionError(f"EOF after {len(buf)} of {n} bytes")
        buf += b
    return buf


def read_until_closed(s, timeout):
    """Read until EOF/RST; returns (bytes received, True if the peer closed within timeout)."""
    import time
    s.settimeout(0.2)
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return got, True
        if not b:
            return got, True
        got += b
    return got, False


COM_STMT_FETCH = 0x1C
CURSOR_TYPE_READ_ONLY = 0x01
SERVER_STATUS_CURSOR_EXISTS = 0x0040
SERVER_STATUS_LAST_ROW_SENT = 0x0080


def _eof_status(pkt):
    d = pkt.get_all_data()
    return struct.unpack_from("<H", d, 3)[0]


def stmt_execute_cursor(conn, stmt, params_longlong):
    """COM_STMT_EXECUTE with CURSOR_TYPE_READ_ONLY and LONGLONG params: the server answers with
    the column definitions only (EOF carries SERVER_STATUS_CURSOR_EXISTS). Returns the column count."""
    payload = bytes([COM_STMT_EXECUTE]) + struct.pack("<IBI", stmt.id, CURSOR_TYPE_READ_ONLY, 1)
    n = len(params_longlong)
    if n:
        payload += bytes((n + 7) // 8) + b"\x01"
        payload += struct.pack("<BB", MYSQL_TYPE_LONGLONG, 0) * n
        payload += b"".join(struct.pack("<q", p) for p in params_longlong)
    _send(conn, payload)
    data = conn._read_packet().get_all_data()
    ncols, _ = read_lenenc_int(data, 0)
    for _ in range(ncols):
        conn._read_packet()
    eof = conn._read_packet()
    assert _is_eof(eof), "expected EOF after column definitions"
    assert _eof_status(eof) & SERVER_STATUS_CURSOR_EXISTS, "server opened no cursor"
    return ncols


def stmt_fetch(conn, stmt, num_rows):
    """COM_STMT_FETCH: up to num_rows binary rows then EOF. Returns (raw rows, last_row_sent)."""
    _send(conn, bytes([COM_STMT_FETCH]) + struct.pack("<II", stmt.id, num_rows))
    rows = []
    while True:
        pkt = conn._read_packet()
        if _is_eof(pkt):
            return rows, bool(_eof_status(pkt) & SERVER_STATUS_LAST_ROW_SENT)
        rows.append(pkt.get_all_data())


def pipelined_queries(conn, *sqls):
    """Write several COM_QUERY packets in one send before reading any reply (MariaDB allows
    pipelining); returns the first column of the first row of each result."""
    data = b""
    for sql in sqls:
        payload = bytes([0x03]) + sql.encode()
        data += len(payload).to_bytes(3, "little") + b"\x00" + payload
    conn._sock.sendall(data)
    out = []
    for _ in sqls:
        conn._next_seq_id = 1
        pkt = conn._read_packet()
        d = pkt.get_all_data()
        if d[0] == 0:  # OK
            out.append(None)
            continue
        ncols, _ = read_lenenc_int(d, 0)
        for _ in range(ncols):
            conn._read_packet()
        conn._read_packet()  # EOF
        first = None
        while True:
            r = conn._read_packet().get_all_data()
            if r[0] == 0xFE and len(r) < 9:
                break
            if first is None:
                ln, pos = read_lenenc_int(r, 0)
                first = bytes(r[pos:pos + ln]).decode()
        out.append(first)
    return out


# --- a hand-made login, for clients that must do what no driver does ---------------------------

CLIENT_BASE_CAPS = (CLIENT.LONG_PASSWORD | CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION |
                    CLIENT.PLUGIN_AUTH | CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT.TRANSACTIONS)


def greeting_scramble(greeting):
    """The 20-byte scramble of a protocol-10 greeting payload."""
    pos = greeting.index(b"\0", 1) + 1 + 4   # version, thread id
    part1 = greeting[pos:pos + 8]
    pos += 8 + 1 + 2 + 1 + 2 + 2             # filler, caps low, charset, status, caps high
    auth_len = greeting[pos]
    pos += 1 + 10
    part2 = greeting[pos:pos + max(13, auth_len - 8)]
    return (part1 + part2)[:20]


def login_packet(greeting, user, password=None, database=None, plugin="mysql_native_password",
                 auth=None, attrs=None, seq=1):
    """A HandshakeResponse41 (header included). `auth` overrides the auth response; by default
    it is the mysql_native_password scramble of `password` (empty without one)."""
    caps = CLIENT_BASE_CAPS | (CLIENT.CONNECT_WITH_DB if database else 0)
    if attrs:
        caps |= CLIENT.CONNECT_ATTRS
    if auth is None:
        auth = (_auth.scramble_native_password(password.encode(), greeting_scramble(greeting))
                if password else b"")
    payload = struct.pack("<IIB", caps, 16 * 1024 * 1024, 33) + b"\0" * 23
    payload += user.encode() + b"\0" + lenenc_str(auth)
    if database:
        payload += database.encode() + b"\0"
    payload += plugin.encode() + b"\0"
    if attrs:
        kv = b"".join(lenenc_str(k.encode()) + lenenc_str(v.encode()) for k, v in attrs.items())
        payload += lenenc_str(kv)
    return frame(seq, payload)


def frame(seq, payload):
    """One packet: 3-byte length, sequence id, payload (< 16 MiB)."""
    return len(payload).to_bytes(3, "little") + bytes([seq & 0xFF]) + payload


def read_packet(s):
    """One packet from a raw socket: (sequence id, payload)."""
    hdr = recv_exact(s, 4)
    return hdr[3], recv_exact(s, int.from_bytes(hdr[:3], "little"))


def parse_err(payload):
    """(code, sql_state, message) of an ERR payload (PROTOCOL_41 layout)."""
    assert payload[:1] == b"\xff", f"not an ERR packet: {payload[:40]!r}"
    code = struct.unpack_from("<H", payload, 1)[0]
    if payload[3:4] == b"#":
        return code, payload[4:9].decode(), payload[9:].decode(errors="replace")
    return code, "", payload[3:].decode(errors="replace")
