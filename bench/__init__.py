"""pg-index-bench: measure what an index migration buys on reads and costs on writes and disk."""

__version__ = "0.1.0"
