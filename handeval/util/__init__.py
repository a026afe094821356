"""Small utilities every stage shares: errors, atomic writes, checksums, plots, safe unpickling, workers.

``handeval.util.safe_pickle.load`` reads dataset pickles without running code.
"""

from handeval.util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "ExitCode": "errors", "HandevalError": "errors",
    "append_line": "atomic", "atomic_path": "atomic", "check_destination": "atomic", "write_bytes_atomic": "atomic",
    "write_text_atomic": "atomic",
    "cache_root": "checksums", "changed_file": "checksums", "sha256_file": "checksums", "verify_file": "checksums",
    "distinct_colours": "plots", "png_bytes": "plots", "save_png": "plots",
    "die_with_parent": "workers", "init_worker": "workers", "signals_deferred": "workers",
    "resolve": "lazy",
})
