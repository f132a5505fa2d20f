"""The stub provider (dispatch/tests/stub_provider.py) in its own process, for the dispatch benchmarks."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Stub:
    """The stub provider in its own process, so it never competes with the measured code for the GIL."""

    def __init__(self, latency, port=0):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dispatch.tests.stub_provider", "--latency", str(latency), "--port", str(port)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.url = self.process.stdout.readline().strip()

    def count(self):
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def reset(self):
        self.process.stdin.write("reset\n")
        self.process.stdin.flush()
        self.process.stdout.readline()

    def stop(self):
        self.process.stdin.close()
        self.process.wait(timeout=10)
