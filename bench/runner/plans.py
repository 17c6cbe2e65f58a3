"""Reading EXPLAIN (FORMAT JSON) plans: node types, indexes used, scans, buffers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

Plan = dict[str, Any]


def explain_document(row: Any) -> Plan:
    """The one plan of an EXPLAIN (FORMAT JSON) result row (psycopg gives it parsed or as
    text, depending on the column type it sees)."""
    if row is None:
        raise ValueError("EXPLAIN returned no row")
    doc = row[0]
    parsed = json.loads(doc) if isinstance(doc, str) else doc
    plan: Plan = parsed[0]
    return plan


def walk(node: Plan) -> Iterator[Plan]:
    yield node
    for child in node.get("Plans", []):
        yield from walk(child)


def node_types(plan: Plan) -> list[str]:
    return sorted({n["Node Type"] for n in walk(plan)})


def indexes_used(plan: Plan) -> list[str]:
    return sorted({n["Index Name"] for n in walk(plan) if "Index Name" in n})


def scans(plan: Plan) -> list[str]:
    """How each table is read, in plan order: 'Index Scan using ix_a on t', 'Seq Scan on t'
    (a bitmap scan names its index and the table of its Bitmap Heap Scan)."""
    out = []

    def visit(node: Plan, relation: str | None) -> None:
        rel = node.get("Relation Name") or relation
        kind = node["Node Type"]
        if kind == "Bitmap Index Scan":
            out.append(f"Bitmap Scan using {node.get('Index Name', '?')} on {rel or '?'}")
        elif "Index Name" in node:
            out.append(f"{kind} using {node['Index Name']} on {rel or '?'}")
        elif "Relation Name" in node and kind != "Bitmap Heap Scan":
            out.append(f"{kind} on {node['Relation Name']}")
        for child in node.get("Plans", []):
            visit(child, rel if kind == "Bitmap Heap Scan" else None)

    visit(plan, None)
    return out


def shape_key(plan: Plan) -> str:
    """A plan's structure without costs or timings, to tell plan variants apart."""
    parts = []
    for n in walk(plan):
        target = n.get("Index Name") or n.get("Relation Name") or ""
        parts.append(f"{n['Node Type']}{'(' + target + ')' if target else ''}")
    return " > ".join(parts)


def summary(plan: Plan) -> str:
    """How each table is read, grouped by access method: 'Seq Scan on a, b; Index Scan ix'."""
    groups: dict[str, list[str]] = {}
    for n in walk(plan):
        kind = n["Node Type"]
        if kind == "Seq Scan":
            groups.setdefault("Seq Scan on", []).append(n.get("Relation Name", "?"))
        elif "Index Name" in n:
            groups.setdefault(kind, []).append(n["Index Name"])
    if not groups:
        return str(plan["Node Type"])
    return "; ".join(f"{kind} {', '.join(dict.fromkeys(names))}" for kind, names in groups.items())


# What makes two plans do the same work: the nodes, what each reads and how, and the
# conditions, without estimates or timings. Two states of the indexes whose plans for a query
# have the same fingerprint run it the same way (bench.runner.per_index.index_reads times it once).
_FINGERPRINT_KEYS = (
    "Node Type", "Relation Name", "Index Name", "Scan Direction", "Join Type", "Strategy",
    "Parent Relationship", "Index Cond", "Recheck Cond", "Filter", "Join Filter", "Hash Cond",
    "Merge Cond", "Sort Key", "Presorted Key", "Group Key",
)


def fingerprint(plan: Plan) -> str:
    return " > ".join("|".join(str(n.get(k, "")) for k in _FINGERPRINT_KEYS) for n in walk(plan))


def relations(plan: Plan) -> list[str]:
    """The tables a plan reads."""
    return sorted({n["Relation Name"] for n in walk(plan) if "Relation Name" in n})
