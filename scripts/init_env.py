"""Write a .env with fresh development secrets, unless one exists. Used by `make run`."""
import base64
import secrets
import sys
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


def main():
    if ENV_FILE.exists():
        print(f"{ENV_FILE.name} exists; keeping it.")
        return 0
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    ENV_FILE.write_text(
        "# Development settings written by `make run` on first start. Never use these in production.\n"
        "DEBUG=true\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"RETEN_CREDENTIALS_KEYS=dev1:{key}\n"
        "ALLOWED_HOSTS=127.0.0.1,localhost\n"
        "DISPATCH_INTERVAL_SECONDS=5\n"
    )
    print(f"Wrote {ENV_FILE.name} with fresh development secrets.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
