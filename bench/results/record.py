"""The base of every record of results.json, with nothing else, so that any record module can
build on it without importing the whole model (mix.py, per_index.py and model.py share it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    """Base of every record: unknown keys are an error, NaN/Infinity survive a round trip."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants",
                              validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)
