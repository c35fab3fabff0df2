"""`python -m siamese ...`, the same as the `siamese` command."""

from siamese.cli.main import main_exit

main_exit()
