"""Throughput and memory benchmarks: ``python -m sr_lab.bench data|train|infer|agree``.

Each command prints one JSON object, so results can be compared and recorded
(docs/benchmarks.md). Timings live here, never in tests.
"""

from __future__ import annotations

import json

from sr_lab.bench import data, infer, train
from sr_lab.cli import make_parser, run_or_exit


def main(argv: list[str] | None = None) -> None:
    parser = make_parser("python -m sr_lab.bench", __doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (data, train, infer):
        module.register(commands)
    args = parser.parse_args(argv)
    print(json.dumps(run_or_exit(args.run, args), indent=2))
