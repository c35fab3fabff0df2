"""The Siamese network of this project, as built by `python train.py`; prints its summary.

The parts live in the package: `siamese.model.build_tower` (the shared convolutional tower),
`siamese.model.distances` (Euclidean, L1, cosine, learned head), `siamese.model.losses`
(contrastive, cross-entropy) and `siamese.model.SiameseNetwork` (tower + distance).
"""

import dataclasses

from siamese.training import TrainConfig, build_network

if __name__ == "__main__":
    config = TrainConfig()
    network = build_network(config, dataclasses.replace(config.preprocessing, invert=True))
    network.tower.summary()
    print(f"distance: {type(network.distance).__name__}, loss: {config.loss.pair_loss} (margin {config.loss.margin})")
