"""Scoring submissions under protocols: ground truth per view, quantities, error table, aggregation.

Scoring itself is :func:`handeval.scoring.score.score` (a module of that name, so not re-exported
here), also ``handeval.score``.
"""

from handeval.util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Protocol": "protocols", "load_protocol": "protocols", "protocol_names": "protocols",
    "Submission": "submissions", "check_submission": "submissions", "read_submission": "submissions",
    "write_submission": "submissions",
    "compare": "score", "regroup": "score", "verify_result": "score", "Result": "result",
    "ErrorTable": "aggregate", "read_table": "table",
})
