"""Which class each image file of a folder or zip is in, and whether it is a skilled forgery.

Three layouts, as people have their data:

- class folders: a class is a folder that holds images (`Alphabet/character07/01.png`);
- signers with forgeries: `<signer>/genuine/*` beside `<signer>/forged/*` (folder names
  from `GENUINE` and `FORGED`, any case); the class is the signer's folder, at any depth;
- class in the file name: a regex whose group `class` (or first group) names the class
  (Yale faces, `subject07.happy`: `subject(\\d+)` gives class "07"). A group `kind` whose
  text starts with forg / fake / skilled marks a skilled forgery. CEDAR's names
  (`original_12_3.png`, `forgeries_12_3.png`) are such a rule, found without being asked.

A skilled forgery imitates its signer: it is a negative for that signer, never anyone's
positive, so it is kept apart from the classes (`ImageDataset.forgeries`).
"""

from __future__ import annotations

import logging
import re
from pathlib import PurePosixPath

from siamese.errors import DatasetError

logger = logging.getLogger(__name__)

GENUINE = frozenset({"genuine", "real", "original"})
FORGED = frozenset({"forged", "forgery", "forgeries", "fake", "skilled"})
CEDAR = re.compile(r"^(?P<kind>original|forgeries)_(?P<class>\d+)_\d+\.", re.IGNORECASE)
_FORGED_KINDS = ("forg", "fake", "skilled")


def class_pattern(text: str) -> re.Pattern:
    """The compiled class pattern, checked to have a group that names the class."""
    try:
        pattern = re.compile(text)
    except re.error as error:
        raise DatasetError(f"class pattern {text!r}: not a regular expression ({error})") from None
    if not pattern.groups:
        raise DatasetError(f"class pattern {text!r}: has no group to name the class, e.g. 'subject(\\d+)'")
    return pattern


def classify(members: list[str], pattern: re.Pattern | None, where: str) -> list[tuple[str, str, bool]]:
    """(member, class name, forged) for the image files `members` of the folder or zip `where`.

    With a pattern, classes come from file names; without, from folders, unless every file
    name follows CEDAR's rule. Members in no class (files beside the class folders) are left out.
    """
    if pattern is None and members and all(CEDAR.search(PurePosixPath(m).name) for m in members):
        pattern = CEDAR
    return _by_name(members, pattern, where) if pattern is not None else _by_folder(members)


def _by_name(members: list[str], pattern: re.Pattern, where: str) -> list[tuple[str, str, bool]]:
    """Classes from the file names the pattern matches; the others left out, with a warning."""
    group = "class" if "class" in pattern.groupindex else 1
    found, missed = [], []
    for member in members:
        match = pattern.search(PurePosixPath(member).name)
        if match is None or match.group(group) is None:
            missed.append(member)
            continue
        kind = match.group("kind") if "kind" in pattern.groupindex else None
        found.append((member, match.group(group), bool(kind) and kind.lower().startswith(_FORGED_KINDS)))
    if not found:
        raise DatasetError(f"{where}: no image file name matches the class pattern {pattern.pattern!r}")
    if missed:
        logger.warning(
            "%s: %d image file(s) whose names do not match the class pattern %r, left out (first: %s)",
            where,
            len(missed),
            pattern.pattern,
            missed[0],
        )
    return found


def _by_folder(members: list[str]) -> list[tuple[str, str, bool]]:
    """Class folders; a folder with a genuine subfolder is a signer, its forged subfolder their forgeries."""
    folders = [PurePosixPath(m).parent for m in members]
    signers = {f.parent for f in folders if f.name.lower() in GENUINE and f.parent.name}
    found = []
    for member, folder in zip(members, folders):
        kind = folder.name.lower()
        if folder.parent in signers and kind in GENUINE | FORGED:
            found.append((member, folder.parent.as_posix(), kind in FORGED))
        elif folder.name:
            found.append((member, folder.as_posix(), False))
    return found
