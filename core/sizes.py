"""Sizes of files in words, the same in the command line and the window: 512 B, 3.4 KB, 1.2 MB (1024-based)."""

from __future__ import annotations


def human_bytes(n: float) -> str:
    """A byte count with the largest unit that keeps it at or above 1 (B, KB, MB, GB; 1 KB = 1024 B)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
