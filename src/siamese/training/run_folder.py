"""A training run's results folder: what lies where in it, and what it keeps for a resume.

    results/RUN/
        config.json   the run's TrainConfig, its data, its model's path and its options
        history.csv   one row per finished epoch
        metrics.json  the model's validation figures, written when training ends
        resume/       the state a killed run goes on from (`siamese.training.resume`)
        evaluation/   `siamese evaluate`'s report on the run's model
        .lock         held by the run that writes here

`config.json` is written before the first epoch, so a killed run can be resumed with the
settings, data and options (`siamese train --no-export`) it started with. Files written
before the config was grouped hold its settings flat and no options: they resume with
today's defaults for what they lack.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from siamese.data.datasets import ImageDataset
from siamese.errors import ConfigError
from siamese.files import write_json
from siamese.training.config import TrainConfig

ROOT = Path("results")


@dataclasses.dataclass(frozen=True)
class SavedRun:
    """What a run's `config.json` holds: enough to go on with it as it started."""

    config: TrainConfig
    sources: list
    class_pattern: str | None
    model_path: Path
    options: dict


class RunFolder:
    """The results folder of one training run (it need not exist yet)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @classmethod
    def named(cls, run: str) -> RunFolder:
        """The folder `siamese train --run RUN` writes to: results/RUN."""
        return cls(ROOT / run)

    @classmethod
    def of_model(cls, model_path: str | os.PathLike) -> RunFolder:
        """The folder of the run that wrote `model_path` where `siamese train` puts it by default."""
        return cls.named(Path(model_path).stem)

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def history(self) -> Path:
        return self.path / "history.csv"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.json"

    @property
    def resume(self) -> Path:
        return self.path / "resume"

    @property
    def evaluation(self) -> Path:
        return self.path / "evaluation"

    @property
    def lock(self) -> Path:
        return self.path / ".lock"

    def write_config(self, config: TrainConfig, *, data: dict, model_path, options: dict) -> Path:
        """Write `config.json`: the config, the data (`describe_data`), the model's path, the options."""
        return write_json(
            self.config,
            {**config.to_dict(), "data": data, "model_path": os.path.abspath(model_path), "options": dict(options)},
        )

    def read(self) -> SavedRun:
        """The run `config.json` describes; a ConfigError when there is none to read."""
        try:
            saved = json.loads(self.config.read_text())
            sources, model_path = saved["data"]["sources"], Path(saved["model_path"])
        except (OSError, ValueError, KeyError, TypeError):
            raise ConfigError(
                f"{self.config}: no training run to resume there (config.json missing or unreadable)"
            ) from None
        return SavedRun(
            config=TrainConfig.from_dict(saved),
            sources=sources,
            class_pattern=saved["data"].get("class_pattern"),
            model_path=model_path,
            options=saved.get("options", {}),
        )

    def write_metrics(self, metrics: dict) -> Path:
        return write_json(self.metrics, metrics)

    def resume_state(self) -> dict | None:
        """The state a killed run left, or None when there is none."""
        from siamese.training.resume import read_state  # Keras: only where a run is resumed, not to read a folder

        return read_state(self.resume)

    def start_afresh(self) -> None:
        """Remove the history and resume state an earlier run left, so that they do not mix with this one's."""
        from siamese.training.resume import STATE

        for stale in (self.history, self.resume / STATE):
            if stale.exists():
                stale.unlink()


def describe_data(dataset: ImageDataset, class_pattern: str | None = None) -> dict:
    """The data of a run as `config.json` records it: where it lies (absolute) and how it is read."""
    roots = [os.path.abspath(source.location) for source in dataset.sources]
    return {
        "sources": roots,
        "images": len(dataset),
        "classes": dataset.num_classes,
        "groups": len(set(dataset.groups)),
        "class_pattern": class_pattern,
        "forgeries": dataset.num_forgeries,
    }
