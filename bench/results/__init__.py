"""The result model (results.json) and the statistics it is made with: pure, no database."""
