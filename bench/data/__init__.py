"""Synthetic data for any schema: generators, binary COPY encoding, the bulk loader."""
