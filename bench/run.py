"""`make bench`: run the benchmarks. `python -m bench.run [name] [options]`; default: all."""

from __future__ import annotations

import sys

from bench import csv_export, disclosure, rebuild, report, submit

BENCHES = {
    "rebuild": rebuild.main,
    "csv": csv_export.main,
    "submit": submit.main,
    "report": report.main,
    "disclosure": disclosure.main,
}


def main(argv: list[str]) -> None:
    if argv and argv[0] in BENCHES:
        BENCHES[argv[0]](argv[1:])
        return
    for bench in BENCHES.values():
        bench(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
