import time, os
from concurrent.futures import ThreadPoolExecutor
import test_max_connect_errors as T
from test_max_connect_errors import tether
def test_dbg(mariadb_netns, tether):
    rig, t = mariadb_netns, tether
    for it in range(8):
        rig.flush_hosts()
        with ThreadPoolExecutor(12) as p:
            list(p.map(lambda _: T.bad_connect_close(t.port), range(12)))
        time.sleep(1.5)
        pend = rig.pending_handshakes()
        print("iter", it, "PENDING", pend)
        if pend:
            time.sleep(5)
            print("HC", T._errors(rig.host_cache()))
            print(open(t.log_path).read()[-4000:])
            break
