"""Support for test_keepalive.py: namespaces, a silent "host vanished" switch, tether handles.

How a host is made to vanish silently
-------------------------------------
The kernel in this environment has no netem, no iptables/nftables and no tc
drop actions, but it has the bfifo qdisc.  A `bfifo limit 0` root qdisc on an
interface drops every packet handed to it (nothing fits in 0 bytes).  We put
it on the *far* end of the veth pair, inside the vanishing host's namespace:

    tether's host  vh..  <---- veth ---->  vn.. [bfifo limit 0]   (namespace)
                                              ^ every packet the vanished host
                                                would send is dropped here

So tether's packets (data, keepalive probes, ARP requests) still leave and
arrive, but nothing ever comes back: no ACK, no ARP reply, and -- the point --
no FIN and no RST, whatever the processes in the namespace do.  That is
exactly what tether sees when a peer host dies or is partitioned away.  It is
silent on tether's side in a second way too: tether's own interface stays up
with carrier (unlike `ip link set .. down` in the namespace, which drops the
carrier of the host-side end), and no qdisc sits on tether's side, so its
kernel never reports a local drop (a local drop makes Linux retry keepalive
probes without counting them, which would not model a dead peer).

Everything here only talks to addresses on /30 subnets that exist solely on
veth pairs created by these tests.
"""

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_IT = os.path.join(REPO, "tests", "integration")
if _IT not in sys.path:
    sys.path.insert(0, _IT)

from helpers import Metrics, parse_metrics  # noqa: E402
from mariadb_server import free_port  # noqa: E402
from tether_proc import Tether, tether_binary  # noqa: E402

PYTHON = "/usr/bin/python3"


def run(cmd, check=True, timeout=30):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed rc={r.returncode}: {r.stdout.strip()}")
    return r


def which(name):
    p = shutil.which(name)
    if p:
        return p
    for d in ("/usr/sbin", "/sbin", "/usr/bin", "/usr/local/sbin"):
        cand = os.path.join(d, name)
        if os.access(cand, os.X_OK):
            return cand
    return None


def require_flags(*flags):
    """Fail (not skip: the flags are contracted) when build/tether lacks a flag."""
    r = subprocess.run([tether_binary(), "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=10)
    missing = [f for f in flags if f not in r.stdout]
    if missing:
        pytest.fail(f"{tether_binary()} --help does not list {missing}: the binary does not "
                    f"implement them yet", pytrace=False)


def pick_subnet(salt=0):
    """A 10.231.X.0/30 not on any local interface (host side .1, far side .2)."""
    used = run(["ip", "-4", "-o", "addr", "show"], check=False).stdout
    start = (os.getpid() + 101 + 37 * salt) % 250
    for i in range(250):
        x = (start + i) % 250 + 1
        if f"10.231.{x}." not in used:
            return f"10.231.{x}.1", f"10.231.{x}.2"
    raise RuntimeError("no free 10.231.X.0/30 subnet")


def ns_veth(ns):
    """Name of the (single) veth interface inside namespace ns."""
    out = run(["ip", "-n", ns, "-o", "link", "show", "type", "veth"]).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if line.strip()]
    assert len(names) == 1, f"expected one veth in {ns}: {out!r}"
    return names[0]


# --- the silent vanish -----------------------------------------------------------------------

def vanish(ns, dev):
    """From now on the host in namespace ns sends nothing at all (see the module docstring)."""
    run(["ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", dev, "root",
         "bfifo", "limit", "0"])


def reappear(ns, dev):
    run(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "root"], check=False)


def dropped_by_vanish(ns, dev):
    """How many packets the vanish qdisc has swallowed (evidence it was in the path)."""
    out = run(["ip", "netns", "exec", ns, "tc", "-s", "qdisc", "show", "dev", dev],
              check=False).stdout
    m = re.search(r"dropped (\d+)", out)
    return int(m.group(1)) if m else None


# --- a client host in its own namespace --------------------------------------------------------

class ClientHost:
    """A namespace joined to the host by a veth pair on a private /30.

    host_ip is on the host side (tether listens there), ip is the client's."""

    def __init__(self, stack, tag):
        pid = os.getpid()
        self.ns = f"tka{tag}{pid}"
        self.veth_host = f"kh{tag}{pid}"[:15]
        self.veth_ns = f"kn{tag}{pid}"[:15]
        self.host_ip, self.ip = pick_subnet(salt=len(tag) + ord(tag[0]))
        run(["ip", "netns", "add", self.ns])
        stack.callback(self._destroy)
        run(["ip", "link", "add", "name", self.veth_host, "type", "veth",
             "peer", "name", self.veth_ns])
        run(["ip", "link", "set", self.veth_ns, "netns", self.ns])
        run(["ip", "addr", "add", f"{self.host_ip}/30", "dev", self.veth_host])
        run(["ip", "link", "set", self.veth_host, "up"])
        run(["ip", "-n", self.ns, "addr", "add", f"{self.ip}/30", "dev", self.veth_ns])
        run(["ip", "-n", self.ns, "link", "set", self.veth_ns, "up"])
        run(["ip", "-n", self.ns, "link", "set", "lo", "up"])

    def _destroy(self):
        r = run(["ip", "netns", "pids", self.ns], check=False)
        for tok in r.stdout.split():
            try:
                os.kill(int(tok), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
        run(["ip", "link", "del", self.veth_host], check=False)
        run(["ip", "netns", "del", self.ns], check=False)

    def free_port(self):
        return free_port(self.host_ip)

    def vanish(self):
        vanish(self.ns, self.veth_ns)

    def reappear(self):
        reappear(self.ns, self.veth_ns)

    def dropped(self):
        return dropped_by_vanish(self.ns, self.veth_ns)


# A pymysql client that logs in to each (name, host, port), reports its server
# thread ids as one JSON line, then sits idle holding the connections.
HOLDER = r"""
import json, sys, time
import pymysql
targets = json.loads(sys.argv[1])
user, password, db = sys.argv[2], sys.argv[3], sys.argv[4]
conns, out = [], {}
for name, host, port in targets:
    c = pymysql.connect(host=host, port=port, user=user, password=password, database=db,
                        connect_timeout=5, read_timeout=30, program_name="ka-" + name)
    with c.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        out[name] = cur.fetchone()[0]
    conns.append(c)
print(json.dumps(out), flush=True)
time.sleep(3600)
"""


def start_holder(stack, host, targets, user, password, db):
    """Run HOLDER inside host's namespace; return (Popen, {name: server thread id})."""
    p = subprocess.Popen(["ip", "netns", "exec", host.ns, PYTHON, "-c", HOLDER,
                          json.dumps(targets), user, password, db],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)

    def _kill():
        if p.poll() is None:
            p.kill()
        p.wait(5)
    stack.callback(_kill)
    r, _, _ = select.select([p.stdout], [], [], 20)
    line = p.stdout.readline() if r else ""
    if not line.strip():
        if p.poll() is None:
            p.kill()
        err = p.stderr.read()
        raise AssertionError(f"client in {host.ns} did not log in: rc={p.poll()} stderr:\n{err}")
    return p, json.loads(line)


# --- tether -----------------------------------------------------------------------------------

def start_tether(stack, logdir, name, upstream, **flags):
    t = Tether(upstream, str(logdir), flags=flags, name=name)
    t.name = name

    def _stop():
        if t.proc is None or t.proc.poll() is not None:
            return
        t.proc.send_signal(signal.SIGTERM)
        try:
            t.proc.wait(5)
        except subprocess.TimeoutExpired:
            t.proc.kill()
            t.proc.wait(5)
    stack.callback(_stop)
    return t.start()


def metrics(t):
    return Metrics(parse_metrics(t.metrics_text()))


def closed(t, reason):
    return metrics(t).value("tether_connections_closed_total", reason=reason)


def orphans(t):
    return metrics(t).sum("tether_orphans_closed_total")


def socket_info(ss_filter):
    """`ss` lines (process, timers, TCP info) for established sockets matching an ss filter
    given as a token list, e.g. ["sport", "=", ":3307"]; shows whether and how a keepalive
    timer is armed: timer:(keepalive,<left>,<probes sent>)."""
    r = run(["ss", "-tnoip", "state", "established"] + list(ss_filter), check=False)
    return "\n".join(r.stdout.strip().splitlines()[1:]) or "(no socket)"


def wait_quiet(ss_filter, timeout=3.0):
    """Wait until every matching established socket has nothing unacknowledged in flight
    (Send-Q 0), so the vanish starts from an idle connection: the keepalive path, not the
    retransmission path, must be what notices it."""
    deadline = time.monotonic() + timeout
    while True:
        out = run(["ss", "-tnH", "state", "established"] + list(ss_filter), check=False).stdout
        sendq = [int(line.split()[1]) for line in out.splitlines() if line.strip()]
        if sendq and not any(sendq):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"sockets not idle before the vanish: {out!r}")
        time.sleep(0.05)


def log_lines(t, *needles):
    return "\n".join(line for line in t.log().splitlines() if all(n in line for n in needles))


def peer_closed(sock):
    """True once the peer closed (EOF or RST) this client socket; never blocks."""
    r, _, _ = select.select([sock], [], [], 0)
    if not r:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (ConnectionResetError, OSError):
        return True


def tail(text, n=60):
    return "\n".join(text.splitlines()[-n:])
