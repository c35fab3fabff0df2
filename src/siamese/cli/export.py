"""`siamese export MODEL`: the tower for ONNX Runtime (or SavedModel / LiteRT), checked against Keras."""

from __future__ import annotations


def run(args) -> int:
    from siamese.inference import export_model

    result = export_model(args.model, args.format, out=args.out)
    print(
        f"{result.path}: tower exported as {result.format} in {result.seconds:.1f} s "
        f"(embeddings within {result.max_difference:.1e} of Keras)"
    )
    return 0
