from services.common.server import run_service
from services.gateway.app import build

if __name__ == "__main__":
    run_service("gateway", build)
