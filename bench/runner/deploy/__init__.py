"""Deploy under live traffic (python -m bench deploy)."""
