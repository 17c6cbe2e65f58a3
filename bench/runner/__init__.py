"""Running a benchmark: provision, seed, measure, migrate (the only code that talks to
PostgreSQL)."""
