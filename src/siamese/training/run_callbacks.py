"""The callbacks of one training run, in the order Keras must call them, and their resume logic.

guard (a bad loss stops the run) -> validation -> best checkpoint -> early stopping
    -> history.csv -> resume state (last: it records what the others did this epoch)
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras

from siamese.errors import TrainingError
from siamese.model.network import SiameseNetwork
from siamese.training.batches import ClassBatches
from siamese.training.callbacks import BestNetworkCheckpoint, PairValidation, ResumableEarlyStopping, StopOnBadLoss
from siamese.training.config import TrainConfig
from siamese.training.resume import ResumeState, restore, trim_log
from siamese.training.run_folder import RunFolder
from siamese.training.trainer import PairwiseTrainer

logger = logging.getLogger(__name__)


class RunCallbacks:
    """The callbacks of one run, in the order Keras must call them, and their resume logic."""

    def __init__(
        self,
        network: SiameseNetwork,
        config: TrainConfig,
        model_path: Path,
        folder: RunFolder | None,
        validation: PairValidation,
        batches: ClassBatches,
    ):
        self.guard = StopOnBadLoss()
        self.validation = validation
        self.checkpoint = BestNetworkCheckpoint(network, model_path, monitor="val_auc")
        self.model_path, self.folder = model_path, folder
        patience = config.schedule.patience
        self.early = None
        if patience is not None:
            self.early = ResumableEarlyStopping(monitor="val_auc", mode="max", patience=patience)
        self.callbacks = [self.guard, validation, self.checkpoint] + ([self.early] if self.early else [])
        self.saver = None
        if folder is not None:
            self.saver = ResumeState(folder.resume, self.checkpoint, self.guard, self.early, batches=batches)
            self.callbacks += [keras.callbacks.CSVLogger(str(folder.history), append=True), self.saver]

    def start_afresh(self) -> int:
        if self.folder is not None:
            self.folder.start_afresh()
        return 0

    def resume(self, trainer: PairwiseTrainer, images_shape: tuple) -> int:
        """Restore the state a killed run left; returns the epoch to go on from (0: none found, start afresh)."""
        state = self.folder.resume_state()
        if state is None:
            logger.warning(
                "%s: no resume state (the run ended before its first epoch); starting afresh", self.folder.resume
            )
            return self.start_afresh()
        trainer.build((None, *images_shape[1:]))
        restore(trainer, self.folder.resume, state)
        self.saver.resumed = state
        self.checkpoint.resume_from(state["best"], state["best_epoch"])
        if self.early is not None:
            self.early.resume_from(state["best"], state["early_stopping_wait"])
        trim_log(self.folder.history, state["next_epoch"])
        return state["next_epoch"]

    def raise_if_stopped(self) -> None:
        if self.guard.bad is None:
            return
        epoch, step, loss = self.guard.bad
        kept = (
            f"the best model so far (epoch {self.checkpoint.best_epoch + 1}) is kept in {self.model_path}"
            if self.checkpoint.best_epoch is not None
            else "no model was saved"
        )
        raise TrainingError(
            f"training stopped: the loss became {loss:g} at epoch {epoch + 1}, step {step + 1}; {kept}; "
            "try a lower --learning-rate"
        )
