"""The app under test, read through one interface: its project file (pg-index-bench.toml or
[tool.pg-index-bench] in its pyproject.toml), and the hooks that file names."""
