"""Leaderboards: Markdown, CSV and a self-contained HTML page from result files."""

from handeval.util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Board": "build", "Row": "build", "build_boards": "build", "find_results": "build", "reported_rows": "build",
    "write_leaderboard": "build", "html_page": "page",
})
