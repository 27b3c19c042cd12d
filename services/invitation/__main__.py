from services.common.server import run_service
from services.invitation.app import build

if __name__ == "__main__":
    run_service("invitation", build)
