"""`make mutation`'s table: per mutated file, how many of mutmut's mutants the unit tests
killed (killed, timed out or caught by a type check), survived, or reached no test at all."""

import json
import sys
from pathlib import Path

MUTANTS = Path("mutants")
KILLED = {1, 3, 36, 37, -24, 24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}
SKIPPED = {34}


def main() -> int:
    rows = []
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        codes = list(json.loads(meta.read_text())["exit_code_by_key"].values())
        counted = [c for c in codes if c not in SKIPPED]
        killed = sum(c in KILLED for c in counted)
        survived = sum(c in SURVIVED for c in counted)
        untested = sum(c in NO_TESTS for c in counted)
        score = 100.0 * killed / len(counted) if counted else 100.0
        rows.append((str(meta.relative_to(MUTANTS))[: -len(".meta")], len(counted), killed,
                     survived, untested, score))  # fmt: skip
    if not rows:
        print("no mutation results under mutants/: run `make mutation`", file=sys.stderr)
        return 1
    print(f"{'file':<40} {'mutants':>7} {'killed':>7} {'survived':>8} {'no tests':>8} {'score':>6}")
    for path, total, killed, survived, untested, score in rows:
        print(f"{path:<40} {total:>7} {killed:>7} {survived:>8} {untested:>8} {score:>5.1f}%")
    total = sum(r[1] for r in rows)
    killed = sum(r[2] for r in rows)
    print(f"{'all':<40} {total:>7} {killed:>7} {'':>8} {'':>8} {100.0 * killed / total:>5.1f}%")
    print("survivors: .venv/bin/mutmut results; one of them: .venv/bin/mutmut show <name>")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
