"""The evaluation written down: `metrics.json` for programs, `report.md` for people.

Both come from one metrics dict (the one `evaluate` returns), so the table printed by the
CLI, the table in the report and the JSON never disagree. Every figure is shown with its
95% interval and the count it rests on.
"""

from __future__ import annotations

import os
from pathlib import Path

from siamese.files import atomic_path, write_json

_CAPTIONS = {
    "history": "Training history: loss and validation figures per epoch",
    "roc": "ROC curve with the equal-error point and the model's threshold",
    "distances": "Distances of same and different pairs, with the threshold",
    "pairs": "Example pairs, worst mistakes first",
    "episode": "One N-way episode: the query against its support set",
    "oneshot_run": "One trial of the official one-shot runs",
    "embeddings": "Embeddings of unseen classes (PCA)",
}


def summary_rows(metrics: dict) -> list[tuple[str, dict]]:
    """(label, {value, low, high, n}) for each headline figure present in `metrics`."""
    rows = []
    verification = metrics.get("verification")
    if verification:
        if verification.get("accuracy"):
            threshold = verification["threshold"]
            rows.append((f"pair accuracy at threshold {threshold:.4f}", verification["accuracy"]))
            rows.append(("  true-accept rate at threshold", verification["true_accept_rate"]))
            rows.append(("  false-accept rate at threshold", verification["false_accept_rate"]))
        rows.append(("ROC AUC", verification["auc"]))
        rows.append((f"EER (threshold {verification['eer_threshold']:.4f})", verification["eer"]))
        for far, estimate in verification["tar_at_far"].items():
            bound = " (lower bound*)" if float(far) < 1.0 / verification["different_pairs"] else ""
            rows.append((f"TAR at FAR {far}{bound}", estimate))
    fewshot = metrics.get("fewshot")
    if fewshot:
        where = ", within one group" if fewshot["within_group"] else ""
        rows.append(
            (
                f"{fewshot['way']}-way {fewshot['shot']}-shot accuracy ({fewshot['episodes']} episodes{where})",
                fewshot["accuracy"],
            )
        )
    runs = metrics.get("oneshot_runs")
    if runs:
        rows.append((f"one-shot runs accuracy ({runs['runs']} runs, {runs['trials']} trials)", runs["accuracy"]))
    identification = metrics.get("identification")
    if identification:
        where = f"{identification['enrolled_classes']} enrolled, {identification['unknown_queries']} queries of others"
        rows.append((f"identification rank-1 rate ({where})", identification["rank1"]))
        if identification["fnir"]:
            rows.append((f"  FNIR at threshold {identification['threshold']:.4f}", identification["fnir"]))
        if identification["fpir"]:
            rows.append((f"  FPIR at threshold {identification['threshold']:.4f}", identification["fpir"]))
    retrieval = metrics.get("retrieval")
    if retrieval:
        rows.append((f"retrieval precision@1 ({retrieval['classes']} classes)", retrieval["precision_at_1"]))
        rows.append(("retrieval mean average precision", retrieval["mean_average_precision"]))
    if metrics.get("writers"):
        rows += _writer_rows(metrics["writers"])
    return rows


def _rate_rows(label: str, measured: dict) -> list[tuple[str, dict]]:
    """EER against skilled and random forgeries, and FRR / FAR at the threshold where there is one."""
    rows, some = [], next(measured[kind] for kind in ("skilled", "random") if kind in measured)
    for kind in ("skilled", "random"):
        if kind in measured:
            at = f" (threshold {measured[kind]['eer_threshold']:.4f})"
            rows.append((f"{label} EER vs {kind} forgeries{at}", measured[kind]["eer"]))
    accepted = some["true_accept_rate"]
    if accepted:
        threshold = some["threshold"]
        rejected = {
            **accepted,
            "value": 1 - accepted["value"],
            "low": 1 - accepted["high"],
            "high": 1 - accepted["low"],
        }
        rows.append((f"  FRR at threshold {threshold:.4f}", rejected))
        for kind in ("skilled", "random"):
            if kind in measured:
                rows.append((f"  FAR vs {kind} forgeries at threshold", measured[kind]["false_accept_rate"]))
    return rows


def _writer_rows(writers: dict) -> list[tuple[str, dict]]:
    """Writer-dependent verification (`siamese.evaluation.writers`): per K references and rule."""
    rows = []
    for k, found in writers.items():
        for rule, measured in found["rules"].items():
            rows += _rate_rows(f"K={k} {rule} ({found['writers']} writers):", measured)
    return rows


def _footnote(metrics: dict) -> str | None:
    if any("lower bound" in label for label, _ in summary_rows(metrics)):
        n = metrics["verification"]["different_pairs"]
        return f"* with {n} different pairs a false-accept rate below 1/{n} cannot be measured; the figure is the TAR at FAR 0."
    return None


def format_table(metrics: dict) -> str:
    """The headline figures as a plain-text table, for the terminal."""
    rows = summary_rows(metrics)
    width = max([len(label) for label, _ in rows] + [6])
    lines = [f"{'figure':<{width}}   value   95% interval        n"]
    for label, e in rows:
        lines.append(f"{label:<{width}}  {e['value']:.4f}  [{e['low']:.4f}, {e['high']:.4f}]  {e['n']:>6}")
    runs = metrics.get("oneshot_runs")
    if runs:
        per_run = [f"{name} {e['value']:.2f}" for name, e in runs["per_run"].items()]
        lines.append("one-shot runs, per run: " + ", ".join(per_run))
    note = _footnote(metrics)
    if note:
        lines.append(note)
    return "\n".join(lines)


def format_markdown(metrics: dict, pictures: dict | None = None) -> str:
    """`report.md`: what was evaluated, the table of figures, per-run accuracy, the pictures."""
    lines = ["# Evaluation", ""]
    for key, label in (
        ("model", "Model"),
        ("data", "Data"),
        ("pairs_file", "Pairs file"),
        ("runs_path", "One-shot runs"),
        ("seed", "Seed"),
        ("faces_not_found", "Faces not found (the whole photo taken as the face)"),
    ):
        if metrics.get(key) is not None:
            lines.append(f"- {label}: `{metrics[key]}`")
    if metrics.get("seconds") is not None:
        lines.append(f"- Time: {metrics['seconds']:.1f} s")
    lines += [
        "",
        "Distances: smaller = more alike; a pair is called same when its distance is at or below the threshold.",
        "Intervals are 95%: Wilson for proportions, a seeded bootstrap for AUC, EER and mAP.",
        "",
        "| figure | value | 95% interval | n |",
        "|---|---:|---:|---:|",
    ]
    for label, e in summary_rows(metrics):
        lines.append(f"| {label.strip()} | {e['value']:.4f} | [{e['low']:.4f}, {e['high']:.4f}] | {e['n']} |")
    note = _footnote(metrics)
    if note:
        lines += ["", note]
    runs = metrics.get("oneshot_runs")
    if runs:
        lines += [
            "",
            "## One-shot runs, per run",
            "",
            "| run | accuracy | 95% interval | trials |",
            "|---|---:|---:|---:|",
        ]
        for name, e in runs["per_run"].items():
            lines.append(f"| {name} | {e['value']:.4f} | [{e['low']:.4f}, {e['high']:.4f}] | {e['n']} |")
    if pictures:
        lines += ["", "## Pictures", ""]
        for name, filename in pictures.items():
            caption = _CAPTIONS.get(name, name)
            lines += [f"### {caption}", "", f"![{caption}]({filename})", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(out: str | os.PathLike, metrics: dict, pictures: dict | None = None) -> tuple[Path, Path]:
    """Write `metrics.json` and `report.md` into `out`, atomically; returns their paths.

    `pictures` maps a picture's name to its file name inside `out`.
    """
    out = Path(out)
    metrics_path = write_json(out / "metrics.json", {**metrics, "pictures": dict(pictures or {})})
    report_path = out / "report.md"
    with atomic_path(report_path) as temporary:
        Path(temporary).write_text(format_markdown(metrics, pictures), encoding="utf-8")
    return metrics_path, report_path
