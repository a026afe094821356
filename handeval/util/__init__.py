"""Small utilities every stage shares: errors, atomic writes, checksums, plots, safe unpickling, workers."""
