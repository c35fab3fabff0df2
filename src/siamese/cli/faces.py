"""What batch commands say about photos in which a face model found no face."""

from __future__ import annotations


def say_faceless(log) -> None:
    """One line with the count, when there are any (each was named in a warning as it came)."""
    if log.faceless:
        print(f"faces not found: {len(log.faceless)} (embedded whole, each named in a warning above)")
