"""Connection attributes are arbitrary bytes: a client whose program_name is not UTF-8 must not make
tether's JSON log lines or /connections invalid (each ill-formed sequence becomes U+FFFD)."""
import json

from helpers import wait_until

RAW_NAME = b"app\xff\xfe-\x80-x"  # two bytes that are never UTF-8 and a lone continuation byte
FIXED_NAME = "app\ufffd\ufffd-\ufffd-x"


class RawStr(str):
    """A str whose UTF-8 encoding is given bytes: PyMySQL encodes attributes with str.encode."""

    def __new__(cls, raw):
        obj = super().__new__(cls, raw.decode("latin-1"))
        obj.raw = raw
        return obj

    def encode(self, *args, **kwargs):
        return self.raw


def test_invalid_utf8_attributes_give_valid_json_logs_and_connections(tether):
    t = tether(log_format="json", log_level="debug", leak_idle_threshold="1s")
    conn = t.connect(program_name=RawStr(RAW_NAME))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
        status, _, body = t.http("GET", "/connections")
        assert status == 200
        rows = json.loads(body.decode("utf-8", errors="strict"))
        assert len(rows) == 1 and rows[0]["attrs"]["program_name"] == FIXED_NAME, rows
        # The leak_suspect line carries the attributes as sent.
        wait_until(lambda: b'"leak_suspect"' in open(t.log_path, "rb").read(), 10, "a leak_suspect line")
    finally:
        conn.close()
    wait_until(lambda: b'"session_closed"' in open(t.log_path, "rb").read(), 5, "a session_closed line")
    assert t.stop() == 0
    t.stopped_by_test = True
    raw = open(t.log_path, "rb").read()
    assert raw, "no log lines"
    lines = raw.split(b"\n")[:-1]
    for line in lines:
        text = line.decode("utf-8", errors="strict")  # raises on any ill-formed byte
        json.loads(text)
    suspects = [json.loads(l) for l in lines if b'"leak_suspect"' in l]
    assert suspects and "program_name=" + FIXED_NAME in suspects[0]["attrs"], suspects
