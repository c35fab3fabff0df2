"""`siamese evaluate MODEL [DATA]`: the evaluation steps the arguments ask for, their table and report.

On signers' genuine/forged folders it adds writer-dependent verification: K references per
writer against skilled and random forgeries (`siamese.evaluation.writers`).

Every input is read and checked (data, pairs file, runs, history) before the model is
loaded, and the steps draw their pairs and episodes before any image is embedded.
"""

from __future__ import annotations

from pathlib import Path

from siamese.cli.faces import batch_embed, say_faceless
from siamese.errors import SiameseError
from siamese.training.run_folder import RunFolder


def _history(args) -> Path | None:
    """The history to draw: --history, or the model's training run's if it is where train puts it."""
    beside = RunFolder.of_model(args.model).history
    return args.history if args.history is not None else (beside if beside.is_file() else None)


def run(args) -> int:
    import siamese
    from siamese import evaluation as ev
    from siamese.data import load_dataset, read_pairs_file

    if args.attacks is not None:  # a liveness model on live frames and attacks
        from siamese.cli.liveness import evaluate_attacks

        return evaluate_attacks(args)
    if args.data is None and args.pairs is None and args.runs is None:
        raise SiameseError("nothing to evaluate: give DATA, --pairs FILE.csv or --runs all_runs.zip")
    if args.identification and args.data is None:
        raise SiameseError("--identification needs DATA: a folder or .zip of class folders")
    pairs = ev.FilePairs(read_pairs_file(args.pairs), str(args.pairs)) if args.pairs is not None else None
    runs = (
        ev.RunsStep(ev.read_oneshot_runs(args.runs), support_variants=args.support_variants)
        if args.runs is not None
        else None
    )
    dataset = load_dataset(args.data, class_pattern=args.class_pattern) if args.data is not None else None
    history = _history(args)
    steps = [ev.HistoryStep(history)] if history is not None else []
    model = siamese.load_model(args.model)
    if pairs is not None or dataset is not None:
        steps.append(ev.PairsStep(pairs, count=args.pairs_count, threshold=model.threshold))
    if dataset is not None:
        way = args.way if args.way is not None else ev.default_way(dataset, args.shot, within_group=args.within_group)
        steps.append(
            ev.EpisodesStep(
                ev.EpisodeSampler(
                    way, args.shot, episodes=args.episodes, within_group=args.within_group, seed=args.seed
                )
            )
        )
    if runs is not None:
        steps.append(runs)
    if dataset is not None and args.identification:
        steps.append(ev.IdentificationStep(threshold=model.threshold, unknown_share=args.unknown_share))
    if dataset is not None and dataset.num_forgeries:
        steps.append(
            ev.WritersStep(
                threshold=model.threshold,
                normalized_threshold=args.normalized_threshold,
                svm_threshold=args.svm_threshold,
                references=args.references,
            )
        )
    if dataset is not None:
        steps.append(ev.RetrievalStep(args.retrieval_images))
    about = {
        "model": str(args.model),
        "threshold": model.threshold,
        "data": None if args.data is None else str(args.data),
        "pairs_file": None if args.pairs is None else str(args.pairs),
        "runs_path": None if args.runs is None else str(args.runs),
    }
    out = args.out or RunFolder.of_model(args.model).evaluation
    embed, faces, note = batch_embed(model, args.detect, args.on_no_face)  # one photo without a face never ends a run
    options = {"dataset": dataset, "channels": model.preprocessing.channels, "seed": args.seed, "about": about}
    result = ev.evaluate(embed, model.distances, steps, out=out, notes=note, **options)
    print(ev.format_table(result.metrics))
    say_faceless(faces)
    print(f"time:    {result.metrics['seconds']:.1f} s")
    print(f"report:  {result.report} (metrics.json and {len(result.pictures)} pictures beside it)")
    return 0
