"""The mutation score of the domain, after `make mutation`, as JSON.

mutmut records each mutant's verdict in `mutants/**/*.py.meta`; a mutant that survives is
either a gap in the tests or equivalent to the original (no input can tell them apart). The
equivalent ones are listed, each with its reason, under "Equivalent mutants" in
docs/mutation.md, and the known gaps (not equivalent, no test yet) under "Known gaps". This
script reads both and prints the score over the mutants that are not equivalent, the survivors
listed nowhere (each one a test to write or a reason to give) and the listed names that no
longer survive (a stale list). It exits 1 when the score is under the bar, a mutant was not
run or a survivor is unexplained, so a run says by its status whether the domain's tests still
pin its rules.

    python -m load_tests.mutation_score [--mutants mutants] [--equivalents docs/mutation.md]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

# mutmut's exit codes (mutmut/stats.py): a test failed or errored, ran out of time or crashed.
DETECTED = {
    1: "killed",
    3: "killed",
    24: "timeout",
    -24: "timeout",
    36: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
    37: "caught by type check",
}
SURVIVED = 0
NO_TESTS = {5, 33}
MUTANT_NAME = re.compile(r"`(identity\.[\w.ǁ]+__mutmut_\d+)`")
BAR = 0.95
EQUIVALENT = "Equivalent mutants"
GAPS = "Known gaps"


def verdicts(mutants: Path) -> dict[str, int | None]:
    """Every mutant's exit code (None: not run yet), by mutant name."""
    found: dict[str, int | None] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        found.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    return found


def listed(document: Path, heading: str) -> set[str]:
    """The mutant names the document lists in its section `## {heading}`."""
    names: set[str] = set()
    inside = False
    for line in document.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            inside = line[3:].strip() == heading
        elif inside:
            names.update(MUTANT_NAME.findall(line))
    return names


def module_of(mutant: str) -> str:
    """`identity.domain.guards.x_f__mutmut_3` -> `identity.domain.guards`."""
    return mutant.rsplit(".", 1)[0]


def score(codes: dict[str, int | None], equivalent: set[str], gaps: set[str]) -> dict[str, object]:
    """Detected over (all - equivalent); known gaps and the untested count against the score."""
    detected = {name for name, code in codes.items() if code in DETECTED}
    survived = {name for name, code in codes.items() if code == SURVIVED}
    untested = {name for name, code in codes.items() if code in NO_TESTS}
    unrun = {name for name, code in codes.items() if code is None}
    listed = survived & equivalent
    missing = survived | untested
    counted = len(codes) - len(listed)
    by_module: Counter[str] = Counter(module_of(name) for name in codes)
    missed: Counter[str] = Counter(module_of(name) for name in missing - listed)
    ratio = len(detected) / counted if counted else 1.0
    return {
        "mutants": len(codes),
        "detected": len(detected),
        "survived": len(survived),
        "equivalent_listed": len(listed),
        "no_tests": len(untested),
        "not_run": len(unrun),
        "score_over_non_equivalent": round(ratio, 4),
        "bar": BAR,
        "by_module": {
            module: {"mutants": total, "missed": missed[module]}
            for module, total in sorted(by_module.items())
        },
        "known_gaps": len(missing & gaps),
        "unexplained_survivors": sorted(missing - equivalent - gaps),
        "listed_but_not_surviving": sorted((equivalent | gaps) - missing),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mutants",
        type=Path,
        default=Path("mutants"),
        help="mutmut's working folder (default: mutants)",
    )
    parser.add_argument(
        "--equivalents",
        type=Path,
        default=Path("docs/mutation.md"),
        help="the document listing equivalent mutants (default: docs/mutation.md)",
    )
    args = parser.parse_args(argv)
    codes = verdicts(args.mutants)
    if not codes:
        parser.error(f"no mutmut verdicts under {args.mutants}/: run `make mutation` first")
    document = args.equivalents
    report = score(codes, listed(document, EQUIVALENT), listed(document, GAPS))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    ratio = report["score_over_non_equivalent"]
    assert isinstance(ratio, float)
    passed = ratio >= BAR and not report["not_run"] and not report["unexplained_survivors"]
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
