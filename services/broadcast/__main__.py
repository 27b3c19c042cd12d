from services.broadcast.app import build
from services.common.server import run_service

if __name__ == "__main__":
    run_service("broadcast", build)
