"""`siamese calibrate MODEL PAIRS`: fit the threshold on validation pairs and store it in the model.

`--objective fpir` fits the open-set point galleries identify with instead (`siamese.open_set`):
on a folder of person folders, one photo of each person enrolled (seeded) and every photo a
stranger to the others, the threshold on the nearest distance for each gallery size that
names at most `--target-fpir` of strangers; the pair threshold is left as it was.

A folder of signers with skilled forgeries (`<signer>/genuine`, `<signer>/forged`) gives
pairs against the forgeries (`ForgeryPairs`): `--objective far --target-far 0.05` then sets
the threshold that accepts at most 5% of skilled forgeries.

Light by construction: the calibrator needs numpy and scikit-learn, the model runs on ONNX
Runtime when it has an up-to-date export, and every input is read before the model loads.
"""

from __future__ import annotations


def run(args) -> int:
    if args.attacks is not None:  # a liveness model's threshold, for a target APCER
        from siamese.cli.liveness import calibrate_attacks

        return calibrate_attacks(args)
    import siamese
    from siamese.cli.faces import batch_embed, say_faceless
    from siamese.evaluation import ForgeryPairs, format_table, read_pair_source, verification_metrics
    from siamese.training import ThresholdCalibrator

    if args.objective == "fpir":
        return _open_set(args)
    calibrator = ThresholdCalibrator(args.objective, target_far=args.target_far)
    validation = read_pair_source(args.data, count=args.pairs_count, seed=args.seed)
    test = read_pair_source(args.test, count=args.pairs_count, seed=args.seed) if args.test is not None else None
    model = siamese.load_model(args.model)
    channels = model.preprocessing.channels
    embed, faces, _ = batch_embed(model, args.detect, args.on_no_face)
    calibrator.fit(validation.distances(embed, model.distances, channels=channels), validation.same)
    before = model.threshold
    model.threshold = calibrator.threshold_
    model.save()  # also updates an up-to-date export's metadata, so it does not go stale
    was = "none" if before is None else f"{before:.4f}"
    kind = " (different = skilled forgeries)" if isinstance(validation, ForgeryPairs) else ""
    print(
        f"threshold {was} -> {calibrator.threshold_:.4f} ({args.objective} on {len(validation.same)} validation pairs{kind}: "
        f"FAR {calibrator.false_accept_rate_:.4f}, TAR {calibrator.true_accept_rate_:.4f}), saved in {args.model}"
    )
    if test is not None:
        distances = test.distances(embed, model.distances, channels=channels)
        metrics = verification_metrics(distances, test.same, threshold=calibrator.threshold_, seed=args.seed)
        print(f"on the test pairs ({args.test}):")
        print(format_table({"verification": metrics.to_dict()}))
    say_faceless(faces)
    return 0


MIN_PEOPLE = 10  # fewer people give too few strangers for a tail


def _open_set(args) -> int:
    import siamese
    from siamese.cli.faces import batch_embed, say_faceless
    from siamese.data import load_dataset
    from siamese.errors import ConfigError, DatasetError
    from siamese.evaluation import embed_dataset, pairwise_distances
    from siamese.training import OpenSetCalibrator, enrol_one_each

    if args.test is not None:
        raise ConfigError("--test scores pairs; with --objective fpir the people in DATA are the check")
    calibrator = OpenSetCalibrator(args.target_fpir, seed=args.seed)
    dataset = load_dataset(args.data)
    if dataset.num_classes < MIN_PEOPLE:
        raise DatasetError(
            f"{args.data}: {dataset.num_classes} people; an open-set point needs {MIN_PEOPLE} or more (folders of photos)"
        )
    model = siamese.load_model(args.model)
    embed, faces, _ = batch_embed(model, args.detect)
    table = embed_dataset(dataset, embed, channels=model.preprocessing.channels)
    enrolled = enrol_one_each(dataset.labels, seed=args.seed)
    distances = pairwise_distances(table, table[enrolled], model.distances)
    point = calibrator.fit(distances, dataset.labels, dataset.labels[enrolled]).point_
    model.open_set = point.to_dict()
    model.save()  # also updates an up-to-date export's metadata, so it does not go stale
    print(
        f"open-set {point.rule} rule for FPIR {args.target_fpir:g}, fitted on {dataset.num_classes} people "
        f"({len(dataset)} images), saved in {args.model} (the pair threshold is unchanged); the nearest is named "
        f"when its distance is at or below, by enrolled: {_rule_table(point)}"
    )
    size = point.fitted
    print(
        f"enrolled missed at {size:,} enrolled (these people, one image each): {calibrator.fnir_[size]:.1%} "
        f"(the nearest distance alone: {calibrator.nearest_fnir_[size]:.1%}); beyond {size:,} the thresholds are extrapolated"
    )
    say_faceless(faces)
    return 0


def _rule_table(point) -> str:
    cells = []
    for size in (10, 100, 1_000, 10_000, 100_000):
        threshold, weight = point.rule_at(size)
        runner_up = f" + {weight:.2f} x the runner-up's distance" if point.weights is not None else ""
        cells.append(f"{size:,}: {threshold:.4f}{runner_up}")
    return "; ".join(cells)
