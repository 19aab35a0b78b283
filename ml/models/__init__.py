"""Recommendation models: one file per model, one interface (:class:`Recommender`).

Every model is fitted on a users x items CSR matrix, recommends by matrix index with implicit's
``recommend`` signature, and saves to a pickle-free ``.npz`` that :func:`load_model` (numpy
only, no implicit, no torch) turns back into the right class. The deep models (``bpr_mf``,
``neumf``, ``lightgcn``) import torch inside ``fit`` only: importing this package never does.
"""

from pathlib import Path

from ml.models.also_bought import AlsoBoughtRecommender
from ml.models.als import ALSRecommender
from ml.models.base import Recommender
from ml.models.bpr import BPRRecommender
from ml.models.bpr_mf import TorchBPRRecommender
from ml.models.complements import ComplementsRecommender
from ml.models.ease import EASERecommender
from ml.models.item_knn import ItemKNNRecommender
from ml.models.lightgcn import LightGCNRecommender
from ml.models.neumf import NeuMFRecommender
from ml.models.popularity import PopularityRecommender, RecentPopularityRecommender

#: Every model class by its ``name`` (the key stored in saved files and used in configs).
MODEL_CLASSES: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (
        PopularityRecommender,
        RecentPopularityRecommender,
        ItemKNNRecommender,
        ALSRecommender,
        BPRRecommender,
        EASERecommender,
        AlsoBoughtRecommender,
        ComplementsRecommender,
        TorchBPRRecommender,
        NeuMFRecommender,
        LightGCNRecommender,
    )
}


def load_model(path: str | Path) -> Recommender:
    """Load any saved model; the class is read from the file."""
    return Recommender.load(path)


__all__ = [
    "ALSRecommender",
    "AlsoBoughtRecommender",
    "BPRRecommender",
    "ComplementsRecommender",
    "EASERecommender",
    "ItemKNNRecommender",
    "LightGCNRecommender",
    "MODEL_CLASSES",
    "NeuMFRecommender",
    "PopularityRecommender",
    "RecentPopularityRecommender",
    "Recommender",
    "TorchBPRRecommender",
    "load_model",
]
