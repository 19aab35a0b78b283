"""Session-based recommendation: the next item from the ordered events of the current visit.

For the visitors who never log in (most shoppers): :mod:`.data` turns events into sessions,
:mod:`.base` is the interface every session model implements (numpy serving, pickle-free files),
:mod:`.baselines`, :mod:`.knn` (SKNN, V-SKNN, STAN) and :mod:`.gru4rec` are the models,
:mod:`.protocol` the session-rec evaluation and :mod:`.serving` what a web worker holds.
Importing this package registers every session model class and never imports torch.
"""

from ml.sessions import baselines, gru4rec, knn  # noqa: F401  (registers the model classes)
from ml.sessions.base import SessionRecommender, load_session_model
from ml.sessions.data import IDLE_MINUTES, SessionData, sessionise

__all__ = ["IDLE_MINUTES", "SessionData", "SessionRecommender", "load_session_model", "sessionise"]
