#!/usr/bin/python3
"""Record one MySQL/MariaDB client session as golden bytes for the session tests.

A small TCP relay: listens on a loopback port, connects every accepted client to the upstream
server, relays both directions and records each chunk exactly as recv() returned it, in arrival
order, with its direction. The first accepted connection is recorded (later ones, e.g. a driver's
second connection, are relayed but not recorded). The file it writes follows the fixture format of
tests/fixtures/mysql ('#' comment lines with provenance, then hex), except that every chunk is
on its own line, prefixed with `C ` (client -> server) or `S ` (server -> client).

Usage:
  capture.py --upstream 127.0.0.1:33160 --out tests/captures/x.hex \
             --comment "what this is" -- mariadb -h 127.0.0.1 -P {port} -u app -papppw ...
The command runs with {port} replaced by the relay's port; the capture ends when the recorded
connection is closed on both sides and the command has exited. Without a command the relay prints
its port and waits for one connection.

--tether-greeting: the client is shown the greeting tether would show it (include/tether/session/
greeting_rewrite.hpp: SSL, OPTIONAL_RESULTSET_METADATA and MariaDB's COM_MULTI,
CACHE_METADATA, BULK_UNIT_RESULTS cleared), so the client negotiates what it would negotiate behind
tether. The file still records the server's greeting exactly as the server sent it (an `S` chunk is
what the session receives from upstream).

Extra comment keys written to the file:
  closed-first: client | server   which side ended the recorded connection first
  chunks: N (C: n, S: m)          chunk counts
"""
import argparse
import datetime
import os
import selectors
import socket
import subprocess
import sys
import time


# Bits tether hides from the client (mirror of tether::session::hidden_capabilities).
HIDDEN_LOW = (1 << 11) | (1 << 25)
HIDDEN_MARIADB = (1 << 1) | (1 << 4) | (1 << 5)


def tether_greeting(chunk):
    """The first server chunk with the greeting's capabilities rewritten as tether shows them."""
    if len(chunk) < 5 or chunk[4] != 10:
        return chunk  # an ERR instead of a greeting, or not a v10 greeting
    length = int.from_bytes(chunk[0:3], "little")
    packet = bytearray(chunk[: 4 + length])
    end = packet.index(0, 5)  # server version NUL
    low_at = end + 1 + 4 + 8 + 1  # thread id, scramble part 1, filler
    high_at = low_at + 2 + 1 + 2  # low caps, charset, status
    ext_at = high_at + 2 + 1 + 6  # high caps, auth data length, 6 reserved bytes
    caps = int.from_bytes(packet[low_at:low_at + 2], "little") | (
        int.from_bytes(packet[high_at:high_at + 2], "little") << 16)
    caps &= ~HIDDEN_LOW
    packet[low_at:low_at + 2] = (caps & 0xFFFF).to_bytes(2, "little")
    packet[high_at:high_at + 2] = (caps >> 16).to_bytes(2, "little")
    if not caps & 1:  # CLIENT_MYSQL clear: MariaDB extended capabilities in the reserved bytes
        ext = int.from_bytes(packet[ext_at:ext_at + 4], "little") & ~HIDDEN_MARIADB
        packet[ext_at:ext_at + 4] = ext.to_bytes(4, "little")
    return bytes(packet) + chunk[4 + length:]


class Relay:
    """One client connection paired with its upstream socket."""

    def __init__(self, client, upstream_addr, record, rewrite_greeting=False):
        self.client = client
        self.rewrite_greeting = rewrite_greeting
        self.greeting_seen = False
        self.upstream = socket.create_connection(upstream_addr)
        self.record = record
        self.chunks = []  # (direction, bytes)
        self.closed_first = None
        self.client_eof = False
        self.upstream_eof = False
        for s in (self.client, self.upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def done(self):
        return self.client_eof and self.upstream_eof

    def on_readable(self, sock):
        src_is_client = sock is self.client
        dst = self.upstream if src_is_client else self.client
        try:
            data = sock.recv(1 << 20)
        except (ConnectionResetError, OSError):
            data = b""
        if data:
            if self.record:
                self.chunks.append(("C" if src_is_client else "S", data))
            if not src_is_client and not self.greeting_seen:
                self.greeting_seen = True
                if self.rewrite_greeting:
                    data = tether_greeting(data)
            try:
                dst.sendall(data)
            except OSError:
                pass
            return True
        # EOF (or reset) on this side: pass the end on to the other side.
        if self.closed_first is None:
            self.closed_first = "client" if src_is_client else "server"
        if src_is_client:
            self.client_eof = True
            try:
                self.upstream.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        else:
            self.upstream_eof = True
            try:
                self.client.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        return False


def write_capture(path, relay, comments, upstream, command, rewrote):
    n_c = sum(1 for d, _ in relay.chunks if d == "C")
    n_s = len(relay.chunks) - n_c
    lines = []
    for c in comments:
        lines.append(f"# {c}")
    lines.append(f"# source: captured {datetime.date.today().isoformat()} by tools/capture/capture.py "
                 f"(TCP relay in front of {upstream[0]}:{upstream[1]})")
    if command:
        lines.append("# produced-by: " + " ".join(command))
    if rewrote:
        lines.append("# client-saw: the greeting as tether shows it (capture.py --tether-greeting); "
                     "the S line holds the server's original")
    lines.append("# header: original (bytes exactly as relayed; one line per recv() chunk)")
    lines.append("# format: each line is one chunk: 'C ' client->server or 'S ' server->client, then hex")
    lines.append(f"# closed-first: {relay.closed_first or 'unknown'}")
    lines.append(f"# chunks: {len(relay.chunks)} (C: {n_c}, S: {n_s})")
    for direction, data in relay.chunks:
        lines.append(f"{direction} {data.hex()}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return n_c, n_s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True, help="host:port of the MySQL/MariaDB server")
    ap.add_argument("--out", required=True, help="capture file to write")
    ap.add_argument("--listen-port", type=int, default=0, help="loopback port (default: any free one)")
    ap.add_argument("--comment", action="append", default=[], help="a '#' comment line (repeatable)")
    ap.add_argument("--tether-greeting", action="store_true",
                    help="show the client the greeting tether would show it (see above)")
    ap.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- command to run ({port} = relay port)")
    args = ap.parse_args()

    host, port = args.upstream.rsplit(":", 1)
    upstream = (host, int(port))
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.listen_port))
    listener.listen(16)
    relay_port = listener.getsockname()[1]

    proc = None
    if command:
        argv = [a.replace("{port}", str(relay_port)) for a in command]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    else:
        print(f"listening on 127.0.0.1:{relay_port}", flush=True)

    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    relays = []
    recorded = None
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            if key.data is None:
                client, _ = listener.accept()
                relay = Relay(client, upstream, record=recorded is None, rewrite_greeting=args.tether_greeting)
                if recorded is None:
                    recorded = relay
                relays.append(relay)
                sel.register(relay.client, selectors.EVENT_READ, relay)
                sel.register(relay.upstream, selectors.EVENT_READ, relay)
                continue
            relay = key.data
            if not relay.on_readable(key.fileobj):
                sel.unregister(key.fileobj)
                if relay.done():
                    relay.client.close()
                    relay.upstream.close()
        command_done = proc is None or proc.poll() is not None
        if recorded is not None and recorded.done() and command_done:
            break
    else:
        print("capture.py: timed out", file=sys.stderr)
        if proc is not None and proc.poll() is None:
            proc.terminate()
        return 1

    rc = proc.wait() if proc is not None else 0
    n_c, n_s = write_capture(args.out, recorded, args.comment, upstream, command,
                             args.tether_greeting)
    size = os.path.getsize(args.out)
    print(f"capture.py: wrote {args.out}: {n_c} client chunks, {n_s} server chunks, {size} bytes; "
          f"command exit {rc}; closed first: {recorded.closed_first}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
