"""Train a Siamese network; with no data given, on the bundled Omniglot background sets.

    python train.py                       # dataset/images_background_small1.zip + small2.zip,
                                          # with rotated copies of each character as new classes
    python train.py my_data/ --epochs 10  # any folder or zip of class folders

Options are those of `siamese train` (python train.py --help), e.g. a short run:
`python train.py --epochs 1 --steps 5`. It ends, as `siamese train` does when the official
one-shot runs lie beside the data (dataset/all_runs.zip here), with the model's one-shot
accuracy on the 20 runs. The work is in the package.
"""

import datetime
import sys
from pathlib import Path

from siamese.cli import main

DEFAULT_DATA = [str(Path(__file__).parent / "dataset" / f"images_background_small{i}.zip") for i in (1, 2)]

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or (args[0].startswith("-") and args[0] not in ("-h", "--help")):
        run = f"omniglot-{datetime.datetime.now():%Y%m%d-%H%M%S}"
        args = [*DEFAULT_DATA, "--run", run, "--rotated-classes", *args]
    sys.exit(main(["train", *args]))
