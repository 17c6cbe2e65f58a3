"""The result model (results.json) and the statistics it is made with: pure, no database."""

# RunResults (model.py) holds the per-index records (per_index.py), which build on the model's
# own records: the two are tied together here, once, whichever of them is imported first.
from bench.results import model as _model
from bench.results import per_index as _per_index

_model.RunResults.model_rebuild(
    _types_namespace={"PerIndexSection": _per_index.PerIndexSection})
