"""handeval: canonical data, labels and pinned metrics for 3D hand reconstruction."""

__version__ = "0.1.0"
