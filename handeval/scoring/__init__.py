"""Scoring submissions under protocols: ground truth per view, quantities, error table, aggregation."""
