"""Significance tests of the comparisons declared in config, with multiple-testing correction."""

import pandas as pd

from psymtl import logs, stats
from psymtl.io import read_json

with logs.to_file(snakemake.log[0]) as log:  # noqa: F821
    p, out = snakemake.params, snakemake.output  # noqa: F821
    settings = dict(p.settings, num_comparisons=len(p.comparisons))
    files = list(snakemake.input.metrics)  # noqa: F821
    rows = []
    for comp in p.comparisons:
        scores, preds = {}, {}
        for system in (comp["a"], comp["b"]):
            mine = [f for f in files if f.split("/")[-4:-2] == [comp["study"], system]]
            scores[system] = {int(f.split("/")[-2].removeprefix("seed")):
                              read_json(f)["test"][comp["task"]][comp["metric"]] for f in mine}
            preds[system] = [pd.read_parquet(f.replace("metrics.json", "predictions.parquet"))
                             for f in mine]
        rows.append(stats.compare(comp, scores, preds, settings))
        log.info("%s vs %s on %s/%s: %s", comp["a"], comp["b"], comp["task"], comp["metric"],
                 rows[-1])
    table = stats.correct(pd.DataFrame(rows), p.settings["correction"])
    table["verdict"] = [stats.verdict(r, p.settings["alpha"], p.settings["aso_tau"])
                        for _, r in table.iterrows()]
    table.to_csv(out.csv, index=False)
    table.to_latex(out.tex, index=False, float_format="%.3f", na_rep="--")
    claims = table[["study", "claim", "a", "b", "task", "metric", "paper", "mean_diff",
                    "ci_low", "ci_high", "verdict"]]
    shown = table[["study", "a", "b", "task", "metric", "seeds_a", "seeds_b", "mean_diff",
                   "ci_low", "ci_high", "p_bootstrap_adj", "p_wilcoxon_adj", "p_mcnemar_adj",
                   "aso_eps_min", "note"]]
    with open(out.md, "w") as f:
        f.write("# Headline claims: the paper's difference (a - b) beside ours\n\n"
                "ours: difference of seed means, 95% bootstrap CI over test posts; the verdict "
                "says whether the paper's direction was reproduced, with significance.\n\n")
        f.write(claims.to_markdown(index=False, floatfmt=".3f") + "\n\n")
        f.write(f"# Significance tests ({p.settings['correction']}-corrected p-values, "
                f"alpha = {p.settings['alpha']}, ASO tau = {p.settings['aso_tau']})\n\n")
        f.write(shown.to_markdown(index=False, floatfmt=".3f") + "\n")
