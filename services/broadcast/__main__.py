import sys

from services.broadcast.app import build
from services.common.config import ConfigError
from services.common.server import run_service

if __name__ == "__main__":
    try:
        run_service("broadcast", build)
    except ConfigError as e:  # raised by build: settings only the broadcast service needs
        print(f"costream broadcast: {e}", file=sys.stderr)
        raise SystemExit(2) from None
