from services.common.server import run_service
from services.post.app import build

if __name__ == "__main__":
    run_service("post", build)
