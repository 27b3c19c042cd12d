def main() -> None:
    raise SystemExit("costream: the command-line client is being written")
