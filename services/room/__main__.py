from services.common.server import run_service
from services.room.app import build

if __name__ == "__main__":
    run_service("room", build)
