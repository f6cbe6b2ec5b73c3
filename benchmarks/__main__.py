"""`python -m benchmarks <name> [args…]` (what `./dev bench <name>` runs).

Each benchmark is a package ``benchmarks/<name>/`` with a ``__main__.py`` exposing
``main(argv: list[str]) -> int`` that also accepts ``--smoke``: every part, at a tiny size,
references included (tests/integration/test_benchmarks_smoke.py runs each one that way in CI, so
a new benchmark is covered as soon as it is listed here). Without a name, list the benchmarks.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(here)])
        if info.ispkg and (here / info.name / "__main__.py").exists()
    )


def main(argv: list[str]) -> int:
    names = available()
    if not argv or argv[0] in {"-h", "--help"}:
        print("usage: ./dev bench <name> [args…]\nbenchmarks: " + (", ".join(names) or "none"))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in names:
        known = ", ".join(names) or "none"
        print(f"unknown benchmark {name!r}; available: {known}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"benchmarks.{name}.__main__")
    return int(module.main(rest))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
