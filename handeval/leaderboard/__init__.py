"""Leaderboards: Markdown, CSV and a self-contained HTML page from result files."""

from handeval.leaderboard.build import build_boards, write_leaderboard

__all__ = ["build_boards", "write_leaderboard"]
