"""Synthetic scenes written in each dataset's exact native layout (test fixtures and demo data)."""
