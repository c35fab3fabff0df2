"""Recipes: the settings that suit one application, named, in one small file each.

    siamese train --recipe signatures signers/     # crop to the ink, binarised, 144x224, EER threshold
    siamese train --recipe faces photos/           # face crop, equalised light, flips

A recipe is a `TrainConfig` (input size, channels, framing, augmentation, tower, distance,
loss, threshold rule) and goes through the same `siamese.training.train` as any other run;
options given beside it override its values. Its preprocessing is saved inside the model,
so `siamese verify --model models/signatures.keras a.png b.png` needs no flags.
"""

from __future__ import annotations

from siamese import registry
from siamese.recipes import faces, handwriting, signatures
from siamese.training.config import TrainConfig

RECIPES = {module.NAME: module for module in (handwriting, signatures, faces)}


def recipe_config(name: str, **overrides) -> TrainConfig:
    """The recipe's `TrainConfig`, with `overrides` (flat settings, as `TrainConfig.with_settings`
    takes them) in place of its values."""
    registry.RECIPES.check(name)
    return RECIPES[name].CONFIG.with_settings(**overrides)


def describe(name: str) -> str:
    """What the recipe is for and what it sets, for `siamese train --recipe NAME --help`-like listings."""
    config, default = recipe_config(name).to_settings(), TrainConfig().to_settings()
    changed = {key: value for key, value in config.items() if value != default[key]}
    return f"{name}: {RECIPES[name].__doc__.strip().splitlines()[0]}\n  " + ", ".join(
        f"{k}={v}" for k, v in changed.items()
    )


__all__ = ["RECIPES", "describe", "recipe_config"]
