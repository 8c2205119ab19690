"""Command line of the package.

- ``python -m psymtl settings [--configfile F ...] STUDY/CONDITION`` prints the complete,
  merged settings of a condition as JSON, exactly as the workflow hands them to its training
  job (config.yaml, then each --configfile in order).
- ``python -m psymtl predict MODEL_DIR [MODEL_DIR ...] POSTS -o SCORES.csv`` scores a CSV or
  parquet of posts (``id``, ``text``; checked as ``snakemake predict`` checks them) with one
  saved model or the ensemble (mean) of several, e.g. a condition's seeds.
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
    pr = sub.add_parser("predict", help="score a file of posts with saved models")
    pr.add_argument("paths", nargs="+", metavar="PATH",
                    help="saved model folders (a run's model/), then the posts file "
                         "(CSV or parquet with columns id and text)")
    pr.add_argument("-o", "--out", required=True, metavar="SCORES.csv",
                    help="where the scores go (CSV; the provenance beside it as .json)")
    pr.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    pr.add_argument("--batch-tokens", type=int, default=8192,
                    help="tokens per batch (posts x maximum length)")
    pr.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    r = sub.add_parser("reproduction", help="the real-data report from committed runs")
    r.add_argument("action", choices=["collect", "build"])
    r.add_argument("results", nargs="?", help="collect: the workflow's results folder")
    r.add_argument("name", nargs="?", help="collect: the runs' name (e.g. main)")
    r.add_argument("--root", default="docs/reproduction/runs")
    r.add_argument("--out", default="docs/reproduction.md")
    args = ap.parse_args(argv)
    if args.command == "predict":
        if len(args.paths) < 2:
            ap.error("predict: name at least one MODEL_DIR, then the posts file")
        return _predict(args)
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


def _predict(args: argparse.Namespace) -> int:
    """Score the posts file with the saved models; a bad input is one line on stderr."""
    import logging

    from psymtl import machine, saved
    from psymtl.errors import InputError
    from psymtl.io import write_json

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    *models, posts_file = args.paths
    out = Path(args.out)
    import torch

    from psymtl.trainer import pick_device

    if args.threads:
        torch.set_num_threads(args.threads)
    machine.keep_freed_memory()  # this command's process only
    try:
        device = pick_device(args.device)
        posts = saved.read_posts(posts_file)
        table, provenance = saved.score(models, posts, args.batch_tokens, device,
                                        progress=sys.stderr.isatty())
    except (InputError, ValueError, RuntimeError) as exc:  # RuntimeError: no CUDA device
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    write_json(provenance | {"input": str(posts_file)}, out.with_suffix(".json"))
    print(f"scored {len(table)} posts with {len(models)} model(s): {out}")
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
