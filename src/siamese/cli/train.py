"""`siamese train DATA...`: train a model and write it with its logs and metrics."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

from siamese.errors import SiameseError

_RUN_OPTIONS = {"data", "run", "model_out", "results", "overwrite", "command"}


def run(args) -> int:
    from siamese.data import load_dataset
    from siamese.training import TrainConfig, train

    config = TrainConfig(**{k: v for k, v in vars(args).items() if k not in _RUN_OPTIONS})
    dataset = load_dataset(args.data)  # fail on bad data before anything is created
    dataset.check_trainable()
    run_name = args.run or f"{Path(args.data[0]).stem}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    model_path = args.model_out or Path("models") / f"{run_name}.keras"
    results = args.results or Path("results") / run_name
    if model_path.exists() and not args.overwrite:
        raise SiameseError(f"{model_path}: exists; pass --overwrite to replace it, or --model-out for another file")
    print(f"training on {len(dataset)} images of {dataset.num_classes} classes ({', '.join(map(str, args.data))})")
    result = train(dataset, model_path=model_path, config=config, results_dir=results, verbose=1 if sys.stdout.isatty() else 2)
    m = result.metrics
    print(f"validation ({m['validation_classes']} unseen classes, {m['validation_pairs']} pairs): "
          f"ROC AUC {m['val_auc']:.4f}, pair accuracy {m['val_pair_accuracy']:.4f} at threshold {m['val_threshold']:.4f}")
    print(f"model:   {result.model_path}")
    print(f"results: {result.results_dir} (history.csv, metrics.json, config.json)")
    print(f"time:    {result.seconds:.0f} s")
    return 0
