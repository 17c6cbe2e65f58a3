"""Per index (--per-index): attribution, verdicts, relations, the recommended set."""
