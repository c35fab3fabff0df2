"""One process of the data-parallel test (tests/training/test_distributed.py), run by it.

    python distributed_worker.py DATA OUT RECORD single|distributed

Trains the test's tiny model on DATA with `siamese.training.train` (JAX backend, CPU),
writing the model and results to OUT, and writes RECORD (JSON): the run's history and
metrics, and every training batch this process fed Keras, as one checksum per image row,
keyed by epoch and step; process 0 also writes RECORD.npz, the weights of the saved model.
`distributed` joins the cluster that the KERAS_DISTRIBUTION_* variables name. TensorFlow
is kept out, as on a JAX-only install (and it is faster).
"""

import hashlib
import json
import os
import sys

sys.modules["tensorflow"] = None  # Keras then finds no TensorFlow (it would only seed it)
os.environ["KERAS_BACKEND"] = "jax"

CONFIG = dict(
    image_size=(16, 16),
    filters=(8, 8),
    embedding_dim=8,
    epochs=2,
    steps_per_epoch=2,
    classes_per_batch=4,
    examples_per_class=2,
    validation_pairs=40,
    learning_rate=0.01,
    jit_compile=True,
    seed=3,
)


def _record_batches(seen: dict) -> None:
    """Wrap what feeds `fit` so each training batch handed out is kept (its rows' checksums)."""
    from siamese.training.batches import ClassBatches
    from siamese.training.distributed import ProcessShard

    def recording(cls):
        original = cls.__getitem__

        def __getitem__(self, index):
            images, labels = original(self, index)
            source = self.batches if isinstance(self, ProcessShard) else self
            if source.per_epoch and (cls is ProcessShard or not getattr(self, "_inside_shard", False)):
                seen[f"{source.epoch}/{index}"] = [hashlib.sha1(row.tobytes()).hexdigest()[:16] for row in images]
            return images, labels

        cls.__getitem__ = __getitem__

    recording(ClassBatches)
    recording(ProcessShard)
    original_init = ProcessShard.__init__

    def __init__(self, batches, **kwargs):
        batches._inside_shard = True  # the shard's own rows are recorded, not the global batch under it
        original_init(self, batches, **kwargs)

    ProcessShard.__init__ = __init__


def main(data: str, out: str, record: str, mode: str) -> None:
    from siamese.training import TrainConfig, train

    seen = {}
    _record_batches(seen)
    config = TrainConfig.from_settings(**CONFIG, distributed=mode == "distributed")
    result = train(
        data,
        model_path=os.path.join(out, "model.keras"),
        config=config,
        results_dir=os.path.join(out, "results"),
        verbose=0,
    )
    import jax
    import numpy as np

    from siamese.model.saving import load_network

    if jax.process_index() == 0:  # the model file the run wrote, as arrays (the test itself need not load Keras)
        np.savez(record + ".npz", *load_network(result.model_path).get_weights())
    with open(record, "w") as handle:
        json.dump(
            {
                "process": jax.process_index(),
                "processes": jax.process_count(),
                "devices": jax.device_count(),
                "seen": seen,
                "history": result.history,
                "metrics": result.metrics,
                "model_path": str(result.model_path),
            },
            handle,
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
