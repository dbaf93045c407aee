"""Models: the catalog, the models directory, embedded models, download and verify."""

from assistant.models.catalog import Catalog, ModelEntry, ModelFile, load_catalog
from assistant.models.store import ModelStatus, ModelStore, Verification, models_dir

__all__ = [
    "Catalog",
    "ModelEntry",
    "ModelFile",
    "ModelStatus",
    "ModelStore",
    "Verification",
    "load_catalog",
    "models_dir",
]
