"""Command line of the package.

- ``python -m psymtl settings [--configfile F ...] STUDY/CONDITION`` prints the complete,
  merged settings of a condition as JSON, exactly as the workflow hands them to its training
  job (config.yaml, then each --configfile in order).
- ``python -m psymtl reproduction collect RESULTS NAME`` copies the finished runs of a
  workflow's results folder into ``docs/reproduction/runs/NAME``;
  ``python -m psymtl reproduction build`` rebuilds ``docs/reproduction.md`` from them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from psymtl import settings
from psymtl.config import ConfigError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m psymtl", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("settings", help="print a condition's merged settings as JSON")
    s.add_argument("--configfile", nargs="+", action="extend", default=[], metavar="FILE",
                   help="config files merged over config.yaml, in order (as Snakemake does)")
    s.add_argument("--directory", default=".", help="the workflow folder (default: here)")
    s.add_argument("run", nargs="?", metavar="STUDY/CONDITION")
    r = sub.add_parser("reproduction", help="the real-data report from committed runs")
    r.add_argument("action", choices=["collect", "build"])
    r.add_argument("results", nargs="?", help="collect: the workflow's results folder")
    r.add_argument("name", nargs="?", help="collect: the runs' name (e.g. main)")
    r.add_argument("--root", default="docs/reproduction/runs")
    r.add_argument("--out", default="docs/reproduction.md")
    args = ap.parse_args(argv)
    if args.command == "reproduction":
        return _reproduction(args)
    # `--configfile a.yaml B/x` (Snakemake's habit): the run is the value that is no file
    values = [*args.configfile, *([args.run] if args.run else [])]
    runs = [v for v in values if not v.endswith((".yaml", ".yml", ".json"))
            and not Path(args.directory, v).is_file()]
    if len(runs) != 1:
        ap.error(f"name one STUDY/CONDITION (got {runs or 'none'})")
    configfiles = [v for v in values if v not in runs]
    try:
        study, _, name = runs[0].partition("/")
        config = settings.load(configfiles, args.directory)
        print(json.dumps(settings.condition(config, study, name), indent=2, sort_keys=True))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _reproduction(args: argparse.Namespace) -> int:
    from psymtl import reproduction

    if args.action == "collect":
        if not (args.results and args.name):
            print("error: collect needs RESULTS and NAME", file=sys.stderr)
            return 2
        done = reproduction.collect(args.results, Path(args.root) / args.name)
        print(f"{len(done)} runs copied into {Path(args.root) / args.name}")
        return 0
    config, paper, notes = reproduction.load_inputs()
    reproduction.build(args.root, args.out, config, paper, notes)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
