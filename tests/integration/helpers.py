"""Small helpers shared by the integration tests: polling, Prometheus text parsing, raw HTTP."""
import re
import socket
import time


class WaitTimeout(AssertionError):
    pass


def wait_until(predicate, timeout=10.0, what=None, interval=0.05):
    """Poll predicate() every `interval` s until it returns something truthy; return that value.

    On timeout raise an AssertionError naming `what` and the last value (or exception) seen.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except AssertionError:
            raise
        except Exception as e:  # keep polling; report the last failure
            last = e
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for: {what or predicate}; "
                              f"last value: {last!r}")
        time.sleep(interval)


# --- Prometheus text format ----------------------------------------------------------------
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?\s*$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(v):
    return v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def parse_labels(text):
    labels = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if not m:
            raise ValueError(f"bad label set: {{{text}}}")
        labels[m.group(1)] = _unescape(m.group(2))
        pos = m.end()
    return labels


def parse_metrics(text):
    """Prometheus text exposition -> {(name, frozenset(labels.items())): float}.

    Also validates the format strictly enough that malformed output fails the test.
    """
    out = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"line {lineno} is not a Prometheus sample: {line!r}")
        name, _, labels, value = m.group(1), m.group(2), m.group(3), m.group(4)
        key = (name, frozenset(parse_labels(labels or "").items()))
        if key in out:
            raise ValueError(f"line {lineno}: duplicate series {line!r}")
        out[key] = float(value)
    return out


def metric_types(text):
    """{family name: type} from the # TYPE lines."""
    types = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] == "#" and parts[1] == "TYPE":
            types[parts[2]] = parts[3]
    return types


class Metrics(dict):
    """The parsed /metrics: a dict plus lookups by name and label subset."""

    def series(self, name, **labels):
        want = set(labels.items())
        return {k: v for k, v in self.items() if k[0] == name and want <= set(k[1])}

    def get(self, name, default=None, **labels):
        """Value of the one series of `name` with exactly these labels, else default."""
        return dict.get(self, (name, frozenset(labels.items())), default)

    def value(self, name, **labels):
        """Value of the series with exactly these labels; 0 when absent (counters start absent)."""
        return self.get(name, 0.0, **labels)

    def sum(self, name, **labels):
        """Sum over every series of `name` whose labels include these."""
        return sum(self.series(name, **labels).values())

    def has(self, name, **labels):
        return (name, frozenset(labels.items())) in self


# --- raw HTTP ------------------------------------------------------------------------------
def raw_http(host, port, data, timeout=5.0):
    """Send raw bytes, read until the server closes (or timeout); return (status or None, bytes)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        if data:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
            # stop once we have one full response when the server keeps the connection open
            got = b"".join(chunks)
            if b"\r\n\r\n" in got:
                head, _, body = got.partition(b"\r\n\r\n")
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    break
        got = b"".join(chunks)
    m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
    return (int(m.group(1)) if m else None), got


def drop_connection(conn, rst=False):
    """End a PyMySQL connection without COM_QUIT: a FIN (rst=False) or a RST (rst=True)."""
    import struct
    sock = conn._sock
    if rst:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    else:
        sock.shutdown(socket.SHUT_RDWR)
    if conn._rfile is not None:
        conn._rfile.close()
    sock.close()
    conn._sock = None
    conn._rfile = None


def query_ok(t, program_name="normal", **connect_args):
    """A normal client still gets served through tether `t`: logs in, runs a query, checks the answer."""
    conn = t.connect(program_name=program_name, **connect_args)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 'fine'")
            assert cur.fetchone() == ("fine",)
    finally:
        conn.close()
