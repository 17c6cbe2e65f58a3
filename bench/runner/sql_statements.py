"""SQL statements of a migration, split and classified by PostgreSQL's own parser (pglast,
libpg_query: the server's grammar, so quotes, dollar quotes and comments split as the server
reads them).

A `.sql` migration is the file's statements, up to an optional `-- down` (or
`-- migrate:down`) line; what follows it, or a `<stem>.down.sql` beside the file, is its
downgrade. Each statement is classified: which indexes it creates or drops, and whether it can
run inside a transaction block (CREATE/DROP INDEX CONCURRENTLY, REINDEX ... CONCURRENTLY,
VACUUM, DETACH PARTITION ... CONCURRENTLY and a few more cannot).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pglast import ast, enums, parse_sql
from pglast.parser import ParseError

from bench.errors import MigrationError

# The line that starts a file's downgrade section (dbmate writes `-- migrate:down`).
_DOWN_MARKER = re.compile(r"^--\s*(?:migrate:)?down\s*$", re.IGNORECASE | re.MULTILINE)

Action = Literal["create", "drop", "other"]


@dataclass(frozen=True)
class Statement:
    sql: str  # as written, without the terminating semicolon
    line: int  # where it starts in its file (1-based)
    action: Action
    indexes: tuple[str, ...]  # the indexes it creates or drops (by name, unqualified)
    transactional: bool  # False: it cannot run inside a transaction block
    transaction_control: bool = False  # BEGIN / COMMIT written in the file

    @property
    def short(self) -> str:
        text = " ".join(self.sql.split())
        return text if len(text) <= 120 else text[:117] + "..."


@dataclass(frozen=True)
class SqlMigration:
    path: Path
    up: list[Statement]
    down: list[Statement] | None  # None: the migration has no downgrade
    down_path: Path | None  # where the downgrade was read from (None: none)


def down_file(path: Path) -> Path:
    """`010_fk.sql` -> `010_fk.down.sql`."""
    return path.with_name(path.stem + ".down.sql")


def load(path: Path) -> SqlMigration:
    """The migration's statements; one line naming the file and line for a syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationError(f"{path}: cannot be read ({exc})") from None
    up_text, down_text, down_line = text, None, 0
    marker = _DOWN_MARKER.search(text)
    if marker:
        up_text = text[:marker.start()]
        down_text = text[marker.end():]
        down_line = text.count("\n", 0, marker.end())
    up = split(up_text, path)
    if not [s for s in up if not s.transaction_control]:
        raise MigrationError(f"{path}: no SQL statement to run")
    if down_text is not None:
        return SqlMigration(path, up, split(down_text, path, line_offset=down_line), path)
    beside = down_file(path)
    if beside.is_file():
        return SqlMigration(path, up, split(beside.read_text(encoding="utf-8"), beside), beside)
    return SqlMigration(path, up, None, None)


def split(text: str, path: Path, line_offset: int = 0) -> list[Statement]:
    try:
        raw = parse_sql(text)
    except ParseError as exc:
        where = ""
        if len(exc.args) > 1 and isinstance(exc.args[1], int):
            where = f" line {line_offset + text.count(chr(10), 0, exc.args[1]) + 1}:"
        message = str(exc.args[0]) if exc.args else str(exc)
        raise MigrationError(f"{path}:{where} {message}") from None
    out = []
    for r in raw:
        start = r.stmt_location or 0
        body = text[start:start + r.stmt_len] if r.stmt_len else text[start:]
        body = body.strip().removesuffix(";").strip()
        line = line_offset + text.count("\n", 0, start) + 1 + _leading_lines(body)
        out.append(classify_node(r.stmt, _without_leading_comments(body), line))
    return out


def _leading_lines(body: str) -> int:
    return body.count("\n", 0, len(body) - len(_without_leading_comments(body)))


def _without_leading_comments(body: str) -> str:
    """pglast puts the comments before a statement into it; they are no part of it."""
    while True:
        body = body.lstrip()
        if body.startswith("--"):
            nl = body.find("\n")
            body = "" if nl < 0 else body[nl + 1:]
        elif body.startswith("/*"):
            end = body.find("*/")
            body = "" if end < 0 else body[end + 2:]
        else:
            return body


def classify(sql: str) -> Statement:
    """One statement as a client sends it (Alembic's, say); a statement that does not parse
    (bound parameters) is an `other` one."""
    try:
        raw = parse_sql(sql)
    except ParseError:
        return Statement(sql, 0, "other", (), True)
    if len(raw) != 1:
        return Statement(sql, 0, "other", (), True)
    return classify_node(raw[0].stmt, sql.strip(), 0)


def _last(names: Any) -> str:
    return str(names[-1].sval)


def classify_node(node: Any, sql: str, line: int) -> Statement:
    if isinstance(node, ast.IndexStmt):
        return Statement(sql, line, "create", (node.idxname,) if node.idxname else (),
                         not node.concurrent)
    if isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_INDEX:
        return Statement(sql, line, "drop", tuple(_last(o) for o in node.objects or ()),
                         not node.concurrent)
    if isinstance(node, ast.TransactionStmt):
        kind = node.kind
        if kind in (enums.TransactionStmtKind.TRANS_STMT_BEGIN,
                    enums.TransactionStmtKind.TRANS_STMT_START,
                    enums.TransactionStmtKind.TRANS_STMT_COMMIT):
            return Statement(sql, line, "other", (), True, transaction_control=True)
        raise MigrationError(f"line {line}: {sql.split()[0].upper()}: a migration's transactions "
                             "are the harness's to open and close (only BEGIN and COMMIT may "
                             "be written, and are skipped)")
    return Statement(sql, line, "other", (), _transactional(node))


_NO_TRANSACTION = (ast.CreatedbStmt, ast.DropdbStmt, ast.AlterSystemStmt,
                   ast.CreateTableSpaceStmt, ast.DropTableSpaceStmt)


def _transactional(node: Any) -> bool:
    """Whether PostgreSQL lets the statement run inside a transaction block."""
    if isinstance(node, _NO_TRANSACTION):
        return False
    if isinstance(node, ast.VacuumStmt):
        return not node.is_vacuumcmd  # ANALYZE may, VACUUM may not
    if isinstance(node, ast.ReindexStmt):
        concurrently = any(p.defname == "concurrently" for p in node.params or ())
        whole = node.kind in (enums.ReindexObjectType.REINDEX_OBJECT_SYSTEM,
                              enums.ReindexObjectType.REINDEX_OBJECT_DATABASE)
        return not (concurrently or whole)
    if isinstance(node, ast.ClusterStmt):
        return node.relation is not None  # CLUSTER of every table may not
    if isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            d = getattr(cmd, "def_", None)
            if isinstance(d, ast.PartitionCmd) and d.concurrent:
                return False
    return True
