"""What the migration's new indexes cost on disk and in build time, and what the indexes it
dropped freed, from the catalog and the migration."""

from __future__ import annotations

from bench.results.model import (
    CreatedIndex,
    DiskSection,
    DroppedIndex,
    Interval,
    StatementTiming,
    TableBytes,
    TableDisk,
)
from bench.runner.catalog import IndexInfo


def index_costs(
    sizes_before: dict[str, TableBytes], sizes_after: dict[str, TableBytes],
    indexes_after: list[IndexInfo], created: list[str], statements: list[StatementTiming],
    claimed_growth_pct: Interval | None, dropped: list[DroppedIndex] | None = None,
) -> DiskSection:
    """`dropped`: the indexes the migration removed, with their sizes as they were before
    (MigrationRecord.dropped_indexes); growth is net of the bytes they freed."""
    dropped = dropped or []
    build = {s.index: s.seconds for s in statements if s.action == "create"}
    info = {i.name: i for i in indexes_after}
    per_index = [
        CreatedIndex(name=name, table=info[name].table, size_bytes=info[name].size_bytes,
                     build_seconds=build.get(name), definition=info[name].definition)
        for name in created if name in info
    ]

    # Growth is what the new indexes add to the database as seeded, less what the dropped ones
    # took: heap sizes can move a little (the write workloads' rows are deleted and vacuumed),
    # index bytes cannot lie.
    tables = {}
    for t, b in sizes_before.items():
        added = sum(r.size_bytes for r in per_index if r.table == t)
        freed_t = sum(d.size_bytes for d in dropped if d.table == t)
        total = b.table_bytes + b.index_bytes
        tables[t] = TableDisk(before=b, after=sizes_after.get(t, b), new_index_bytes=added,
                              growth_pct=100.0 * (added - freed_t) / total if total else None,
                              dropped_index_bytes=freed_t)
    before = sum(s.table_bytes + s.index_bytes for s in sizes_before.values())
    index_before = sum(s.index_bytes for s in sizes_before.values())
    added = sum(r.size_bytes for r in per_index)
    freed = sum(d.size_bytes for d in dropped)
    net = added - freed
    return DiskSection(
        created=sorted(per_index, key=lambda r: -r.size_bytes),
        tables=tables,
        total_before_bytes=before,
        total_after_bytes=before + net,
        new_index_bytes=added,
        growth_pct=100.0 * net / before if before else None,
        index_bytes_before=index_before,
        index_bytes_after=index_before + net,
        index_growth_pct=100.0 * net / index_before if index_before else None,
        build_seconds_total=sum(r.build_seconds or 0 for r in per_index),
        claimed_growth_pct=claimed_growth_pct,
        dropped=sorted(dropped, key=lambda d: -d.size_bytes),
        freed_index_bytes=freed,
    )
