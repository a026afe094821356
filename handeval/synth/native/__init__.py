"""Synthetic scenes written in each dataset's exact native layout (test fixtures and demo data)."""

from __future__ import annotations

from pathlib import Path

from handeval.synth.scene import SyntheticScene


def write_native(scene: SyntheticScene, root: str | Path) -> dict[str, tuple[Path, str | None]]:
    """Write ``scene`` in every supported native layout; returns {dataset: (root, variant)}."""
    from handeval.synth.native.interhand26m import InterHandSequence, write_interhand26m

    root = Path(root)
    ih = write_interhand26m(root / "InterHand2.6M", [InterHandSequence(scene, "test", 0, "0000_synthetic_demo")])
    return {"interhand26m": (ih, "5fps")}
