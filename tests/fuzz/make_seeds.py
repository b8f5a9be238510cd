#!/usr/bin/env python3
"""Writes the fuzzers' seed inputs from the wire fixtures and captures.

usage: make_seeds.py OUT_DIR   (writes OUT_DIR/fuzz_codec/, OUT_DIR/fuzz_session/ and OUT_DIR/fuzz_monitor/)

Seeds are derived, not committed: tests/fixtures/mysql/*.hex (packets from real
servers and drivers, each file naming its packets' kinds) and tests/captures/*.hex
(whole connections through a real MariaDB, one line per read: 'C ' or 'S ' then
hex). The layouts are the ones the targets document at their top: fuzz_codec.cpp
(a selector byte, then the decoder's input) and fuzz_session.cpp (a script of
events). fuzz_http's seeds are the small committed corpus in tests/fuzz/corpus/http.
"""
import hashlib
import pathlib
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "mysql"
CAPTURES = ROOT / "tests" / "captures"
MONITOR_FIXTURES = ROOT / "tests" / "fixtures" / "monitor"

# fuzz_codec.cpp's selectors.
(FRAMING, SCANNER, GREETING, LOGIN, SSL_REQUEST, CHANGE_USER, AUTH_SWITCH, AUTH_MORE, OK, ERR, EOF, WIRE, STMT_PREPARE_OK,
 STATEMENT_FINGERPRINT) = range(14)
# Statements for the fingerprint selector: what drivers and apps send, with every kind of literal,
# comment and quoting the normalizer must handle.
STATEMENTS = [
    b"SELECT * FROM invoices WHERE customer_id = 4242 AND status IN ('open', 'late', \"x\")",
    b"/* mysql-connector-java-8.0.33 */SELECT  @@session.auto_increment_increment AS auto_increment_increment",
    b"SELECT @@max_allowed_packet,@@system_time_zone,@@time_zone,@@auto_increment_increment",
    b"INSERT INTO sbtest1 (id, k, c, pad) VALUES (5002, 4969, 'a-b', 'c\\'d'), (1, -2.5e3, X'1F', b'01')",
    b"UPDATE `t``1` SET k=k+1, flag = TRUE -- trailing\nWHERE id=0x1F # hash\n; SELECT _utf8mb4'x' /*! 50001 hint */",
    b"CREATE USER 'a'@'%' IDENTIFIED BY 's3cret'; SET PASSWORD FOR x = PASSWORD('pw')",
    b"SELECT '\xff\xfe unterminated",
    b"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? /* unterminated",
]

# fuzz_session.cpp's ops.
(CLIENT_BYTES, UPSTREAM_BYTES, TICK, CLIENT_CLOSED, UPSTREAM_CLOSED, UPSTREAM_CONNECTED, CONNECT_FAILED,
 ADMIT_ALLOW, ADMIT_REFUSE, CLOSE_SESSION, FLOOD) = range(11)

# Capabilities for the decoders that take the session's (a libmariadb client's).
DEFAULT_CAPS = 0x01AAA20D | 0x00800000  # PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH, SESSION_TRACK, ...

SERVER_KINDS = {"greeting", "ok", "err", "authswitch", "authmoredata", "stmtprepareok"}


def packets(stream):
    """Splits standard framing into (header+payload bytes, payload)."""
    out = []
    while len(stream) >= 4:
        n = int.from_bytes(stream[:3], "little")
        out.append((stream[: 4 + n], stream[4 : 4 + n]))
        stream = stream[4 + n :]
    return out


def read_fixture(path):
    kinds, caps, compressed, hex_text = [], DEFAULT_CAPS, False, []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            key, value = key.strip(), value.strip()
            if key == "kinds":
                kinds = [k.strip() for k in value.split(",") if k.strip()]
            elif key == "client-caps":
                caps = int(value, 16)
            elif key == "framing" and value == "compressed":
                compressed = True
            continue
        hex_text.append(line)
    return kinds, caps, compressed, bytes.fromhex(" ".join(hex_text))


def read_capture(path):
    chunks = []
    for line in path.read_text().splitlines():
        if line[:2] in ("C ", "S "):
            chunks.append((line[0], bytes.fromhex(line[2:].strip())))
    return chunks


def read_monitor_session(path):
    """tests/fixtures/monitor's layout: `# s2c` / `# c2s` lines, each followed by a chunk's hex."""
    chunks, hex_text, side = [], "", None
    for line in path.read_text().splitlines() + ["# end"]:
        if line.startswith("#"):
            if side is not None and hex_text:
                chunks.append((side, bytes.fromhex(hex_text)))
            hex_text = ""
            side = {"# s2c": "S", "# c2s": "C"}.get(line.strip(), None if line.strip() == "# end" else side)
            if line.strip() not in ("# s2c", "# c2s"):
                side = None
        elif side is not None:
            hex_text += line
    return chunks


def event(op, chunk=b""):
    if op in (CLIENT_BYTES, UPSTREAM_BYTES):
        return bytes([op]) + struct.pack("<H", len(chunk)) + chunk
    return bytes([op]) + chunk


def session_script(chunks, admit=ADMIT_ALLOW, ending=(CLIENT_CLOSED,)):
    """chunks: ('C'|'S', bytes). An admission answer follows the client's first chunk (its login)."""
    script = b""
    admitted = False
    for direction, chunk in chunks:
        script += event(CLIENT_BYTES if direction == "C" else UPSTREAM_BYTES, chunk)
        if direction == "C" and not admitted:
            script += event(admit)
            admitted = True
    for op in ending:
        script += event(op)
    return script


def frame(sequence_id, payload):
    return len(payload).to_bytes(3, "little") + bytes([sequence_id]) + payload


def change_user_payload():
    """A COM_CHANGE_USER as libmariadb sends it (there is no fixture of one)."""
    auth = bytes(range(1, 21))
    attrs = b"\x0c_client_name\x0alibmariadb\x0cprogram_name\x05mysql"
    return (b"\x11" + b"app\x00" + bytes([len(auth)]) + auth + b"tether_test\x00" + struct.pack("<H", 45)
            + b"mysql_native_password\x00" + bytes([len(attrs)]) + attrs)


def main():
    out = pathlib.Path(sys.argv[1])
    seeds = {"fuzz_codec": set(), "fuzz_session": set(), "fuzz_monitor": set()}
    codec, session = seeds["fuzz_codec"], seeds["fuzz_session"]
    caps4 = lambda c: struct.pack("<I", c & 0xFFFFFFFF)

    for text in STATEMENTS:
        codec.add(bytes([STATEMENT_FINGERPRINT, 0]) + text)
        codec.add(bytes([STATEMENT_FINGERPRINT, 1]) + text[: len(text) // 2])  # a truncated prefix

    greetings, logins, server_replies = [], [], []
    for path in sorted(FIXTURES.glob("*.hex")):
        kinds, caps, compressed, stream = read_fixture(path)
        codec.add(bytes([FRAMING, 0]) + stream)
        codec.add(bytes([FRAMING, 0xFF]) + stream)
        codec.add(bytes([SCANNER, 7, 0xFF, 0xFF]) + stream)
        if compressed:
            continue
        for kind, (raw, payload) in zip(kinds, packets(stream)):
            if kind == "greeting":
                codec.add(bytes([GREETING]) + payload)
                greetings.append(raw)
            elif kind in ("response41", "response320"):
                codec.add(bytes([LOGIN]) + payload)
                if kind == "response41":
                    logins.append(raw)
            elif kind == "sslrequest":
                codec.add(bytes([SSL_REQUEST]) + payload)
                codec.add(bytes([LOGIN]) + payload)
            elif kind == "authswitch":
                codec.add(bytes([AUTH_SWITCH]) + payload)
            elif kind == "authmoredata":
                codec.add(bytes([AUTH_MORE]) + payload)
            elif kind == "stmtprepareok":
                codec.add(bytes([STMT_PREPARE_OK]) + payload)
            elif kind == "ok":
                codec.add(bytes([OK]) + caps4(caps) + payload)
                server_replies.append(raw)
            elif kind == "err":
                codec.add(bytes([ERR, 2]) + payload)
                server_replies.append(raw)
            elif kind == "command":
                codec.add(bytes([CHANGE_USER]) + caps4(caps) + payload)
        # A fixture with both directions is a connection of its own.
        if len(kinds) > 1 and not compressed:
            chunks = [("S" if k in SERVER_KINDS else "C", raw) for k, (raw, _) in zip(kinds, packets(stream))]
            session.add(session_script(chunks))

    codec.add(bytes([CHANGE_USER]) + caps4(DEFAULT_CAPS) + change_user_payload())
    codec.add(bytes([EOF]) + bytes.fromhex("fe00000200"))
    codec.add(bytes([EOF]) + bytes.fromhex("fe"))
    codec.add(bytes([WIRE, 8]) + bytes([0, 1, 2, 3, 5, 6, 7, 8]) + bytes.fromhex("01 0203 040506 fc0001 03616263 6869 00"))

    for path in sorted(CAPTURES.glob("*.hex")):
        chunks = read_capture(path)
        for direction in "CS":
            stream = b"".join(c for d, c in chunks if d == direction)
            codec.add(bytes([FRAMING, 0xFF]) + stream)
            codec.add(bytes([SCANNER, 3, 0x55, 0x80]) + stream)
            for raw, payload in packets(stream):
                if payload[:1] == b"\x00":
                    codec.add(bytes([OK]) + caps4(DEFAULT_CAPS) + payload)
                elif payload[:1] == b"\xfe" and len(payload) < 9:
                    codec.add(bytes([EOF]) + payload)
                elif payload[:1] == b"\xff":
                    codec.add(bytes([ERR, 1]) + payload)
        first_s = next((c for d, c in chunks if d == "S"), None)
        first_c = next((c for d, c in chunks if d == "C"), None)
        if first_s:
            codec.add(bytes([GREETING]) + packets(first_s)[0][1])
        if first_c:
            codec.add(bytes([LOGIN]) + packets(first_c)[0][1])
        session.add(session_script(chunks))
        session.add(session_script(chunks, ending=(UPSTREAM_CLOSED,)))
        session.add(session_script(chunks, ending=(CLOSE_SESSION, 5)))  # idle_timeout
        session.add(session_script(chunks[:2], admit=ADMIT_REFUSE, ending=(TICK, 40)))
        session.add(session_script(chunks[:2], ending=(CLIENT_CLOSED, TICK, 10)))
        # A pooled driver's COM_CHANGE_USER after the login, accepted by the server.
        if len(chunks) >= 3:
            change = change_user_payload()
            ok = bytes.fromhex("00 00 00 02 00 00 00")
            session.add(session_script(chunks[:3] + [("C", frame(0, change)), ("S", frame(1, ok))]))
        # The same bytes one read per packet: other split points.
        split = [(d, raw) for d, c in chunks for raw, _ in packets(c)]
        session.add(session_script(split))

    # Greetings from other servers with a login from another driver, then an OK or ERR.
    for i, greeting in enumerate(greetings):
        login = logins[i % len(logins)]
        reply = server_replies[i % len(server_replies)]
        session.add(session_script([("S", greeting), ("C", login), ("S", reply)]))

    # The monitor session: the server's side of the recorded monitor sessions, a
    # query sent after each answer (fuzz_monitor.cpp's layout), in each TLS mode.
    for path in sorted(MONITOR_FIXTURES.glob("*.hex")):
        server = [c for d, c in read_monitor_session(path) if d == "S"]
        for mode in (0, 1, 2, 4):
            script = bytes([mode])
            for i, chunk in enumerate(server):
                script += b"\x00" + struct.pack("<H", len(chunk)) + chunk
                if i >= 1:
                    script += b"\x05"
                if i == 0 and mode in (1, 2):
                    script += b"\x01"
            seeds["fuzz_monitor"].add(script + b"\x06")
            seeds["fuzz_monitor"].add(script + b"\x04")

    for name, items in seeds.items():
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        for item in items:
            (d / hashlib.sha1(item).hexdigest()).write_bytes(item)
        print(f"{name}: {len(items)} seeds in {d}")


if __name__ == "__main__":
    main()
