"""Command line: ``python -m psymtl settings [--configfile F ...] STUDY/CONDITION``.

``settings`` prints the complete, merged settings of a condition as JSON, exactly as the
workflow hands them to its training job (config.yaml, then each --configfile in order).
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
    args = ap.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
