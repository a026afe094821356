"""Synthetic ground truth: seeded two-hand scenes, camera rigs, CPU rendering, pictures."""
