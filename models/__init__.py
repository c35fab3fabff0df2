"""The pretrained models shipped with siamese, as package data (`siamese.pretrained`).

In the source tree this folder is also where trained models land (`models/<run>.keras`);
`pyproject.toml` maps it to the package `siamese.pretrained`, and only the shipped models
listed there are installed. Models are found by name: `siamese.load_model("omniglot")`.
"""
