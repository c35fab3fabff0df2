"""Are two images the same class?  python test.py --image1 A --image2 B [--model M]

Prints `same` or `different` with the distance and the threshold used, using the shipped
Omniglot model unless --model is given. The work is in the package (`siamese verify`).
With an export beside the model (`siamese export MODEL`, once), it runs on ONNX Runtime
without importing TensorFlow: a fraction of a second from start to answer.
"""

import argparse
import sys

from siamese.cli import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image1", required=True)
    parser.add_argument("--image2", required=True)
    parser.add_argument("--model", help="model file, .keras or .onnx (default: models/omniglot.keras)")
    parser.add_argument("--threshold", type=float, help="override the model's calibrated threshold")
    args = parser.parse_args()
    extra = [
        *(["--model", args.model] if args.model else []),
        *(["--threshold", str(args.threshold)] if args.threshold is not None else []),
    ]
    sys.exit(main(["verify", args.image1, args.image2, *extra]))
