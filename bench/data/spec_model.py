"""`[data.spec]` of the project file as written: per table its rows and physical order, per
column its values (README.md, "Data spec"). Checked here for what needs no schema (known
distributions and parameters, weights that sum to 1, one way to make each column); checked
against the schema and compiled by bench/data/spec.py.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bench.data.distributions import NAMES, PARAMETERS

Raw = bool | int | float | str | datetime | date  # what TOML gives
WEIGHT_TOLERANCE = 1e-6
REST = "rest"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LawSpec(_Strict):
    """A distribution and its parameters (times and durations as text: "2025-10-01", "8s")."""

    distribution: str | None = None
    min: Raw | None = None
    max: Raw | None = None
    mean: Raw | None = None
    sd: Raw | None = None
    median: Raw | None = None
    sigma: float | None = None
    alpha: float | None = None
    s: float | None = None
    a: float | None = None
    b: float | None = None

    def params(self) -> dict[str, Raw]:
        return {k: v for k in ("min", "max", "mean", "sd", "median", "sigma", "alpha", "s",
                               "a", "b") if (v := getattr(self, k)) is not None}

    @model_validator(mode="after")
    def _known(self) -> LawSpec:
        _check_law(self)
        return self


def _check_law(law: LawSpec) -> None:
    """Known distribution and parameters, the required ones given."""
    given = set(law.params())
    if law.distribution is None:
        if given - {"min", "max"}:
            raise ValueError(f"{sorted(given - {'min', 'max'})[0]} without a distribution")
        return
    if law.distribution not in PARAMETERS:
        raise ValueError(f"unknown distribution {law.distribution!r} (one of "
                         f"{', '.join(NAMES)})")
    required, optional = PARAMETERS[law.distribution]
    unknown = sorted(given - set(required) - set(optional))
    if unknown:
        raise ValueError(f"{law.distribution} has no parameter {unknown[0]!r} (it takes "
                         f"{', '.join(required + optional)})")
    missing = [p for p in required if p not in given]
    if missing:
        raise ValueError(f"{law.distribution} needs {', '.join(missing)}")


class FanoutSpec(LawSpec):
    """Children per parent: each parent row gets a weight drawn from the distribution, each
    child row picks its parent in proportion; "uniform" without bounds: every parent alike."""

    @model_validator(mode="after")
    def _known(self) -> FanoutSpec:
        if self.distribution is None:
            raise ValueError("fanout needs a distribution")
        if self.distribution == "uniform" and not self.params():
            return self
        _check_law(self)
        return self


class After(_Strict):
    column: str
    lag: LawSpec

    @model_validator(mode="after")
    def _lag(self) -> After:
        if self.lag.distribution is None:
            raise ValueError("after: lag needs a distribution")
        return self


class NullUnless(_Strict):
    column: str
    values: list[Raw] = Field(min_length=1)


class MappedFrom(_Strict):
    """`map`: [[lo, hi, value], ...] (lo <= x < hi, the first that holds) for a number or time
    source, or {source value = value} for any; `else`: the value where none holds (else NULL)."""

    column: str
    map: list[list[Raw]] | dict[str, Raw]
    otherwise: Raw | None = Field(default=None, alias="else")

    @model_validator(mode="after")
    def _shape(self) -> MappedFrom:
        if isinstance(self.map, list):
            if not self.map:
                raise ValueError("map is empty")
            for entry in self.map:
                if len(entry) != 3:
                    raise ValueError(f"map entry {entry!r} is not [lo, hi, value]")
        elif not self.map:
            raise ValueError("map is empty")
        return self


class ColumnSpec(LawSpec):
    """One column: a value set, a distribution, or a dependency on another column; its NULLs,
    distinct count, and (a foreign key) its fan-out."""

    values: dict[str, float | str] | None = None
    null_frac: float | None = Field(default=None, ge=0.0, le=1.0)
    distinct: float | None = None
    fanout: FanoutSpec | None = None
    after: After | None = None
    null_unless: NullUnless | None = None
    mapped_from: MappedFrom | None = None

    @model_validator(mode="after")
    def _one_way(self) -> ColumnSpec:
        ways = [k for k in ("values", "distribution", "after", "mapped_from", "fanout")
                if getattr(self, k) is not None]
        if len(ways) > 1:
            raise ValueError(f"{ways[0]} and {ways[1]}: give one way to make the column")
        if self.values is not None:
            self.values = _weights(self.values)
            if self.distinct is not None:
                raise ValueError("distinct with values: the value set fixes it")
        if self.distinct is not None and (self.distinct == 0 or self.distinct < -1):
            raise ValueError(f"distinct {self.distinct}: a count > 0, or a fraction of the "
                             f"rows between -1 and 0")
        return self

    @property
    def dependency(self) -> str | None:
        if self.after is not None:
            return self.after.column
        if self.mapped_from is not None:
            return self.mapped_from.column
        return None

    @property
    def sources(self) -> list[str]:
        """The columns this one reads."""
        out = [d] if (d := self.dependency) else []
        return out + ([self.null_unless.column] if self.null_unless else [])


def _weights(values: dict[str, float | str]) -> dict[str, float | str]:
    rest = [k for k, w in values.items() if w == REST]
    if len(rest) > 1:
        raise ValueError(f"more than one value takes the rest ({', '.join(rest)})")
    for k, w in values.items():
        if isinstance(w, str) and w != REST:
            raise ValueError(f"weight of {k!r} is {w!r}: a number, or \"rest\"")
        if not isinstance(w, str) and not 0 <= w <= 1:
            raise ValueError(f"weight of {k!r} is {w}: between 0 and 1")
    total = sum(float(w) for w in values.values() if not isinstance(w, str))
    if rest:
        if total > 1 + WEIGHT_TOLERANCE:
            raise ValueError(f"weights sum to {total:g} before the rest: above 1")
        return {k: (max(0.0, 1 - total) if w == REST else w) for k, w in values.items()}
    if abs(total - 1) > WEIGHT_TOLERANCE:
        raise ValueError(f"weights sum to {total:g}, not 1 (or give one value \"rest\")")
    return values


class RowsPerParent(_Strict):
    parent: str
    mean: float = Field(gt=0)  # child rows per parent row on average


class TableSpec(_Strict):
    rows: int | None = Field(default=None, gt=0)  # at scale 1
    rows_per_parent: RowsPerParent | None = None
    order: str | None = None  # a column: rows sorted by it; "random": no correlation
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rows(self) -> TableSpec:
        if self.rows is not None and self.rows_per_parent is not None:
            raise ValueError("rows and rows_per_parent: give one")
        return self


