"""`siamese train DATA...`: train a model and write it with its logs and metrics;
`siamese train --resume RUN`: go on with a run that was stopped (killed, or the machine went down).

With the official one-shot runs at hand (`--runs PATH`, or `all_runs.zip` beside the data, as
dataset/ holds it beside the Omniglot background sets) the run ends with the model's accuracy
on them, scored as `siamese evaluate MODEL --runs PATH` scores it, and adds it to metrics.json.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

from siamese.errors import SiameseError
from siamese.training.run_folder import RunFolder

_RUN_OPTIONS = {
    "data",
    "run",
    "model_out",
    "results",
    "overwrite",
    "command",
    "resume",
    "export",
    "recipe",
    "class_pattern",
    "runs",
}
RUNS_ARCHIVE = "all_runs.zip"  # the official one-shot runs' archive, as Lake et al. publish it
# The flags a run keeps in config.json for its resume, with the values of runs saved before they were kept.
_OPTIONS = {"export": True}


def _given_options(args) -> dict:
    return {"export": False} if args.export is False else {}  # --no-export; its default is None: not given


def _new_run(args):
    """(data, config, model path, results folder, options) of a new run, from the arguments."""
    if not args.data:
        raise SiameseError("train: give DATA (folders, zips or pairs files), or --resume RUN")
    from siamese.recipes import recipe_config
    from siamese.training import TrainConfig

    settings = {k: v for k, v in vars(args).items() if k not in _RUN_OPTIONS}
    config = recipe_config(args.recipe, **settings) if args.recipe else TrainConfig.from_settings(**settings)
    run_name = args.run or f"{Path(args.data[0]).stem}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    model_path = args.model_out or Path("models") / f"{run_name}.keras"
    if model_path.exists() and not args.overwrite:
        raise SiameseError(f"{model_path}: exists; pass --overwrite to replace it, or --model-out for another file")
    folder = RunFolder(args.results) if args.results else RunFolder.named(run_name)
    return args.data, config, model_path, folder, {**_OPTIONS, **_given_options(args)}


def _resumed_run(args):
    """(data, config, model path, results folder, options) of the run to go on with, as it started."""
    given = sorted(k for k in vars(args) if k not in _RUN_OPTIONS)
    if given or args.data or args.model_out or args.run or args.class_pattern:
        raise SiameseError(
            f"--resume {args.resume}: the run goes on with its saved data and settings; give no others "
            f"({', '.join(given) or 'data, --run, --model-out, --class-pattern'})"
        )
    folder = RunFolder(args.results) if args.results else RunFolder.named(args.resume)
    saved = folder.read()
    args.class_pattern = saved.class_pattern  # the data is read as the run read it
    options = {**_OPTIONS, **saved.options, **_given_options(args)}  # --no-export may still be given
    return saved.sources, saved.config, saved.model_path, folder, options


def run(args) -> int:
    from siamese.data import load_dataset
    from siamese.training import train

    data, config, model_path, folder, options = (_resumed_run if args.resume else _new_run)(args)
    runs = _read_runs(args.runs, data)  # read and checked before training, as the data
    dataset = load_dataset(data, class_pattern=args.class_pattern)  # fail on bad data before anything is created
    dataset.check_trainable()
    verb = f"resuming {folder.path}" if args.resume else "training"
    forged = f" and {dataset.num_forgeries} skilled forgeries" if dataset.num_forgeries else ""
    print(
        f"{verb} on {len(dataset)} images of {dataset.num_classes} classes{forged} ({', '.join(map(str, data))}): "
        f"{config.schedule.epochs} epochs x {config.schedule.steps_per_epoch} steps of "
        f"{config.sampling.classes_per_batch * config.sampling.examples_per_class} "
        "images; the time to expect follows the first steps"
    )
    from siamese.cli.eta import EpochEta

    result = train(
        dataset,
        model_path=model_path,
        config=config,
        results_dir=folder.path,
        resume=bool(args.resume),
        verbose=1 if sys.stdout.isatty() else 2,
        class_pattern=args.class_pattern,
        callbacks=[EpochEta(config.schedule.epochs)],
        options=options,
    )
    m = result.metrics
    print(
        f"validation ({m['validation_classes']} unseen classes, {m['validation_pairs']} pairs): "
        f"ROC AUC {m['val_auc']:.4f}, pair accuracy {m['val_pair_accuracy']:.4f} at threshold {m['val_threshold']:.4f}"
    )
    print(f"model:   {result.model_path}")
    if options["export"]:
        _export(result.model_path)
    print(f"results: {result.results_dir} (history.csv, metrics.json, config.json)")
    print(f"time:    {result.seconds:.0f} s")
    if runs is not None:
        _score_runs(runs, result, folder)
    return 0


def _read_runs(path: Path | None, data):
    """The official one-shot runs: `path`, else an `all_runs.zip` beside the data, else None."""
    if path is None:
        beside = sorted({Path(source).parent / RUNS_ARCHIVE for source in data})
        path = next((candidate for candidate in beside if candidate.is_file()), None)
    if path is None:
        return None
    from siamese.evaluation import read_oneshot_runs

    return read_oneshot_runs(path)


def _score_runs(runs, result, folder: RunFolder) -> None:
    """The new model's one-shot accuracy on the runs, printed as `siamese evaluate` prints it and
    added to metrics.json."""
    import siamese
    from siamese.evaluation import format_table, score_oneshot_runs

    model = siamese.load_model(result.model_path)
    scored = score_oneshot_runs(runs, model.embed, model.distances, channels=model.preprocessing.channels)
    found = {"oneshot_runs": {**scored.to_dict(), "path": str(runs.path)}}
    folder.write_metrics({**result.metrics, **found})
    print(format_table(found))


def _export(model_path: Path) -> None:
    """The ONNX export beside the new model, as the shipped one has: `siamese verify` and
    `test.py --model` on it then run on ONNX Runtime at once. Training stands without it."""
    from siamese.inference import export_model

    try:
        exported = export_model(model_path)
    except SiameseError as error:  # e.g. tf2onnx not installed
        print(f"siamese: warning: no ONNX export ({error})", file=sys.stderr)
        return
    print(f"export:  {exported.path} (checked to {exported.max_difference:.0e} against Keras)")
