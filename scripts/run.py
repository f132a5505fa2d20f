"""`make run`: the web server on 127.0.0.1:8000 next to the dispatcher loop, until Ctrl-C or SIGTERM."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = os.environ.get("RETEN_HOST", "127.0.0.1")
PORT = os.environ.get("RETEN_PORT", "8000")

PROCESSES = {
    "web": [PYTHON, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"],
    # The dispatcher loop (one pass every DISPATCH_INTERVAL_SECONDS; .env sets 5 s for the demo).
    "dispatcher": [PYTHON, "manage.py", "dispatch_activities", "--loop"],
}


def stop(signum, frame):
    raise KeyboardInterrupt


def main():
    signal.signal(signal.SIGTERM, stop)
    children = {name: subprocess.Popen(cmd, cwd=ROOT) for name, cmd in PROCESSES.items()}
    print(f"\nReten is up:  API http://{HOST}:{PORT}/api/docs/   admin http://{HOST}:{PORT}/admin/")
    print("Demo logins are printed above by seed_demo. Ctrl-C stops everything.\n", flush=True)
    try:
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children.values():
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    failed = [name for name, child in children.items() if child.returncode not in (0, -signal.SIGINT, None)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
