"""Presentation: report.md and charts, drawn from the result model alone."""
