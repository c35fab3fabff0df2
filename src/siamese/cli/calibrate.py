"""`siamese calibrate MODEL PAIRS`: fit the threshold on validation pairs and store it in the model.

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

    calibrator = ThresholdCalibrator(args.objective, target_far=args.target_far)
    validation = read_pair_source(args.data, count=args.pairs_count, seed=args.seed)
    test = read_pair_source(args.test, count=args.pairs_count, seed=args.seed) if args.test is not None else None
    model = siamese.load_model(args.model)
    channels = model.preprocessing.channels
    embed, faces, _ = batch_embed(model, args.detect)
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
