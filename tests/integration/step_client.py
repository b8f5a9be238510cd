"""A client program in another language driven step by step: it prints one JSON line per step
({"step": name, "value": ...}, or step "error") and, where it pauses, waits for a line on stdin."""
import json
import subprocess


class StepClient:
    def __init__(self, argv, env=None, cwd=None):
        self.argv = argv
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.steps = {}

    def until(self, step):
        """The value of `step`, reading the program's output up to it."""
        while step not in self.steps:
            line = self.proc.stdout.readline()
            assert line, f"{self.argv[0]} exited before step {step!r}: {self.proc.stderr.read()}"
            record = json.loads(line)
            assert record["step"] != "error", f"{self.argv[0]} failed: {record['value']}"
            self.steps[record["step"]] = record["value"]
        return self.steps[step]

    def resume(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def wait(self, timeout=30):
        rc = self.proc.wait(timeout)
        assert rc == 0, f"{self.argv[0]} exited {rc}: {self.proc.stderr.read()}"

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
