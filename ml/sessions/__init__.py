"""Session-based recommendation: the next item from the ordered events of the current visit.

For the visitors who never log in (most shoppers): :mod:`.data` turns events into sessions,
:mod:`.base` is the interface every session model implements (numpy serving, pickle-free files).
Importing this package registers every session model class and never imports torch.
"""

from ml.sessions.base import SessionRecommender, load_session_model
from ml.sessions.data import IDLE_MINUTES, SessionData, sessionise

__all__ = ["IDLE_MINUTES", "SessionData", "SessionRecommender", "load_session_model", "sessionise"]
