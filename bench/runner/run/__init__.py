"""The run: provision, seed, twin, A/A, migrate, before and after, report."""
