"""Recipes: named settings that go through the one trainer and travel inside the model."""

import json

import numpy as np
import pytest

import siamese
from siamese.cli import main
from siamese.errors import ConfigError
from siamese.recipes import RECIPES, describe, recipe_config
from siamese.registry import RECIPES as RECIPE_NAMES
from siamese.training import TrainConfig


def test_every_registered_recipe_has_a_module_and_a_valid_config():
    assert set(RECIPES) == set(RECIPE_NAMES)
    for name in RECIPE_NAMES:
        config = recipe_config(name)
        assert isinstance(config, TrainConfig) and config.recipe == name
        assert name in describe(name)


def test_recipes_state_what_each_application_needs():
    signatures = recipe_config("signatures").preprocessing
    assert (signatures.crop, signatures.keep_aspect, signatures.invert) == ("ink", True, True)
    assert (signatures.contrast, signatures.strokes) == ("binarize", "even")  # neither the pen's grey nor its width
    assert signatures.image_size[1] > signatures.image_size[0]  # wide, as signatures are
    faces = recipe_config("faces")  # it reads images as the model it starts from does
    assert (faces.tower.start_from, faces.tower.trainable_layers, faces.loss.distance) == ("faces", 5, "euclidean")
    assert faces.distortions.flip and not recipe_config("signatures").distortions.flip
    assert recipe_config("handwriting").sampling.rotated_classes


def test_overrides_replace_the_recipes_values_and_are_checked():
    config = recipe_config("signatures", epochs=2, crop="none")
    assert config.schedule.epochs == 2 and config.preprocessing.crop == "none"
    assert config.schedule.steps_per_epoch == 80 and config.preprocessing.image_size == (144, 224)  # the rest kept
    assert recipe_config("faces", augment=False).distortions is None
    with pytest.raises(ConfigError, match="recipe must be one of"):
        recipe_config("fingerprints")
    with pytest.raises(ConfigError, match="augmentation"):
        recipe_config("faces", augmentation={"sparkle": 1.0})
    with pytest.raises(ConfigError, match="crop"):
        recipe_config("faces", crop="hat")
    with pytest.raises(ConfigError, match="unknown training setting"):
        recipe_config("faces", epoch=3)


def test_a_config_with_a_recipe_round_trips_through_its_json():
    config = recipe_config("faces", epochs=3)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def _signers(root, writers=10, per_writer=4, seed=0):
    """Wide grey pages with a writer-specific scribble drawn at a random place and size."""
    import cv2

    rng = np.random.default_rng(seed)
    for writer in range(writers):
        shape = rng.uniform(0, 1, (5, 2))
        folder = root / f"signer{writer:02d}"
        folder.mkdir(parents=True)
        for k in range(per_writer):
            page = np.full((90, 260), int(rng.integers(180, 250)), np.uint8)
            x0, y0, scale = rng.integers(5, 100), rng.integers(5, 30), rng.uniform(40, 60)
            points = (shape * [scale * 2.5, scale] + [x0, y0] + rng.normal(0, 1.5, shape.shape)).astype(np.int32)
            cv2.polylines(page, [points], False, int(rng.integers(0, 60)), 2)
            cv2.imwrite(str(folder / f"{k}.png"), page)
    return root


def test_train_with_the_signatures_recipe_saves_its_framing_in_the_model(tmp_path, capsys):
    data = _signers(tmp_path / "signers")
    model = tmp_path / "signatures.keras"
    code = main(
        [
            "train",
            str(data),
            "--recipe",
            "signatures",
            "--epochs",
            "1",
            "--steps",
            "2",
            "--classes-per-batch",
            "4",
            "--examples-per-class",
            "2",
            "--validation-fraction",
            "0.4",
            "--image-size",
            "32x64",
            "--filters",
            "8,8",
            "--model-out",
            str(model),
            "--results",
            str(tmp_path / "run"),
            "--no-export",
        ]
    )
    assert code == 0, capsys.readouterr().err
    loaded = siamese.load_model(model)
    assert loaded.preprocessing.crop == "ink" and loaded.preprocessing.keep_aspect
    assert loaded.preprocessing.image_size == (32, 64)  # the option overrode the recipe's 144x224
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["recipe"] == "signatures" and saved["validation"]["threshold_objective"] == "eer"
    result = loaded.verify(data / "signer00" / "0.png", data / "signer00" / "0.png")
    assert result.same and result.distance == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("recipe, layout", [("faces", "flat"), ("handwriting", "folders")])
def test_train_with_the_faces_and_handwriting_recipes(tmp_path, capsys, recipe, layout, request):
    """Faces from a flat folder whose names carry the person (Yale style: no extension), and
    characters in class folders; drawn stand-ins, in which the face detector finds no face
    and so takes each image whole as the face. The faces recipe starts from a tiny face model
    here (`--start-from`; the shipped one is a 5.6M-parameter ResNet) and reads images as it does."""
    import cv2

    rng = np.random.default_rng(1)
    data = tmp_path / "data"
    for person in range(8):
        for k in range(3):
            image = np.full((60, 50), int(rng.integers(20, 60)), np.uint8)
            cv2.circle(image, (25 + person % 3, 30), 12 + person, 200, -1)
            name = f"subject{person:02d}.pose{k}" if layout == "flat" else f"class{person}/{k}.png"
            (data / name).parent.mkdir(parents=True, exist_ok=True)
            ok, encoded = (
                cv2.imencode(".gif", cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
                if layout == "flat"
                else cv2.imencode(".png", image)
            )
            assert ok
            (data / name).write_bytes(encoded.tobytes())
    pattern = ["--class-pattern", r"subject(\d+)"] if layout == "flat" else []
    if recipe == "faces":
        tower = ["--start-from", str(request.getfixturevalue("face_model_path"))]
    else:
        tower = ["--image-size", "32", "--filters", "8,8"]
    model = tmp_path / f"{recipe}.keras"
    code = main(
        [
            "train",
            str(data),
            "--recipe",
            recipe,
            *pattern,
            "--epochs",
            "1",
            "--steps",
            "2",
            *tower,
            "--classes-per-batch",
            "4",
            "--examples-per-class",
            "2",
            "--validation-fraction",
            "0.4",
            "--model-out",
            str(model),
            "--results",
            str(tmp_path / "run"),
            "--no-export",
        ]
    )
    assert code == 0, capsys.readouterr().err
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["recipe"] == recipe
    assert siamese.load_model(model).preprocessing.crop == ("face" if recipe == "faces" else "none")


def test_an_unknown_recipe_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", str(tmp_path), "--recipe", "fingerprints"])
    assert stop.value.code == 2
    assert "invalid choice: 'fingerprints'" in capsys.readouterr().err


def test_a_recipe_is_its_flat_settings_over_the_defaults():
    """What `describe` lists (a recipe's flat settings that differ from the defaults) makes the recipe again."""
    default = TrainConfig().to_settings()
    for name in RECIPES:
        settings = recipe_config(name).to_settings()
        assert set(settings) == set(default)
        changed = {key: value for key, value in settings.items() if value != default[key]}
        assert TrainConfig.from_settings(**changed) == recipe_config(name)
        assert all(f"{key}=" in describe(name) for key in changed)
