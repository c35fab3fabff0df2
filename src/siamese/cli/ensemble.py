"""`siamese ensemble MODEL MODEL [...] --out FILE`: several trained models as one.

The new model's distance is the mean of the members' cosine distances
(`siamese.model.ensemble_network`); it reads images at the largest member's size (the
others' sizes must be that size shrunk by a whole factor); its threshold starts at the mean of theirs. Fit it to
your pairs with `siamese calibrate OUT PAIRS`, then `siamese export OUT` for ONNX Runtime.
"""

from __future__ import annotations

from pathlib import Path


def run(args) -> int:
    from siamese.errors import ModelFileError, OutputError
    from siamese.model import ensemble_network, load_network, save_network

    out = Path(args.out)
    if any(out.resolve() == Path(member).resolve() for member in args.models):
        raise OutputError(f"{out}: is one of the members; write the ensemble to a new file")
    networks = [load_network(member) for member in args.models]
    try:
        network = ensemble_network(networks, names=[str(member) for member in args.models])
    except ValueError as error:
        raise ModelFileError(str(error)) from None
    save_network(network, out)
    threshold = (
        "none"
        if network.threshold is None
        else f"{network.threshold:.4f} (the members' mean: calibrate it on your pairs)"
    )
    print(
        f"ensemble of {len(networks)} models: {out}, {network.tower.count_params():,} parameters, threshold {threshold}"
    )
    return 0
