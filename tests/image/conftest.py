"""Fixtures for the image tests: the image built once per run by deploy/image/build, a private
MariaDB (the integration suite's), and podman pointed at a containers.conf these machines need."""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import pytest  # noqa: E402

from mariadb_server import MariaDB  # noqa: E402

IMAGE = "localhost/tether:test"

# runc (crun is not installed everywhere) and ulimits the container may have: the
# defaults copy the host's, which can exceed what an unprivileged runtime may set.
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
"""


@pytest.fixture(scope="session")
def podman(tmp_path_factory):
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    env = dict(os.environ, CONTAINERS_CONF=str(conf))

    def run(*args, check=True, timeout=120):
        p = subprocess.run(["podman", *args], env=env, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    return run


@pytest.fixture(scope="session")
def image(podman):
    """Builds the image from the Containerfile (buildah's layer cache makes a rebuild quick)."""
    started = time.monotonic()
    p = subprocess.run([os.path.join(ROOT, "deploy", "image", "build"), "--tag", IMAGE],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, f"deploy/image/build failed:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}"
    print(f"image build took {time.monotonic() - started:.0f} s: {p.stderr.strip().splitlines()[-1]}")
    return IMAGE


@pytest.fixture(scope="session")
def mariadb():
    db = MariaDB().start()
    try:
        yield db
    finally:
        db.stop()
