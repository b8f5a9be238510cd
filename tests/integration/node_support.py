"""Runs one of the Node driver scripts in tests/integration/node against a tether: the script prints
one JSON record per step ({"step": ..., "value": ...}) and waits for "go" on stdin where the test
must look at tether or the server in the middle."""
import json
import os
import shutil
import subprocess

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")


class NodeScript:
    def __init__(self, tether_port, script, module, args=()):
        node = shutil.which("node")
        assert node, "node is missing: scripts/bootstrap installs it"
        assert os.path.isdir(os.path.join(NODE_DIR, "node_modules", module)), \
            f"{module} is missing: scripts/bootstrap runs npm ci in tests/integration/node"
        self.module = module
        self.proc = subprocess.Popen([node, os.path.join(NODE_DIR, script), *args], cwd=NODE_DIR,
                                     env={**os.environ, "TETHER_PORT": str(tether_port)}, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.steps = {}

    def until(self, step):
        """The value the script printed for `step`, reading its output up to there."""
        while step not in self.steps:
            line = self.proc.stdout.readline()
            assert line, f"node exited before step {step!r}: {self.proc.stderr.read()}"
            record = json.loads(line)
            assert record["step"] != "error", f"{self.module} failed: {record['value']}"
            self.steps[record["step"]] = record["value"]
        return self.steps[step]

    def resume(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
