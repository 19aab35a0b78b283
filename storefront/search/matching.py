"""Query words and typo correction.

Words: the query lower-cased, accents folded, split on anything that is not a letter or a digit
(quotes, ``%``, ``*``, ``-``, ``:`` and the engines' operators are separators, so nothing a shopper
types is search syntax), at most :data:`MAX_TERMS` distinct words of a query cut at
:data:`MAX_QUERY_LENGTH` characters.

Corrections come from the index's own vocabulary (every word of an active product's name, brand
and category, with the number of products that have it): candidates that share a character
trigram or a one-deletion variant with the query word, kept when their Damerau-Levenshtein
(optimal string alignment) distance is at most 1 for words up to :data:`LONG_WORD` - 1 letters and
2 from there, best first by distance then by how many products have the word. The vocabulary
is read once per catalog version (``storefront.models.catalog_version``: the same triggers move it
on every change of a product's name, brand, category or activity) and kept per database.
"""
from __future__ import annotations

import re
import threading
import unicodedata
import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection

MAX_QUERY_LENGTH = 200
MAX_TERMS = 12  # a full product name ("Casa Verde Pro Damascus Chef's Knife Series 51" is 9 words)
MIN_CORRECTED = 3  # shorter words (and words with digits) are never corrected
LONG_WORD = 6  # from this length, two edits are forgiven
MAX_CORRECTIONS = 3  # alternatives tried per misspelt word

_WORD = re.compile(r"[^\W_]+")


def normalise(value: str) -> str:
    """Lower-case, accents folded (é -> e), words separated by one space."""
    return " ".join(words(value))


def words(value: str | None) -> list[str]:
    folded = unicodedata.normalize("NFKD", (value or "").lower())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _WORD.findall(folded)


def query_terms(query_text: str | None) -> list[str]:
    """The distinct words of a query, in order, at most MAX_TERMS (a query cut at MAX_QUERY_LENGTH)."""
    return list(dict.fromkeys(words((query_text or "")[:MAX_QUERY_LENGTH])))[:MAX_TERMS]


def plain_stem(word: str) -> str:
    """English plural stripped, for comparing category names with query words (not the
    engines' stemmer: that one works inside the index)."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def correctable(word: str) -> bool:
    return len(word) >= MIN_CORRECTED and word.isalpha()


def max_distance(word: str) -> int:
    return 1 if len(word) < LONG_WORD else 2


def distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment), or ``limit + 1`` once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        best = i
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[len(b)], limit + 1)


def _trigrams(word: str) -> set[str]:
    padded = f"^{word}$"
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


@dataclass
class Vocabulary:
    """Indexed words and their product counts, with the look-ups corrections need."""

    counts: dict[str, int]
    _by_trigram: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _by_deletion: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _sorted: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        by_trigram, by_deletion = defaultdict(list), defaultdict(list)
        for word in self.counts:
            if not correctable(word):
                continue
            for gram in _trigrams(word):
                by_trigram[gram].append(word)
            if len(word) < LONG_WORD + 2:  # short words lose their trigrams to one typo
                for variant in _deletions(word):
                    by_deletion[variant].append(word)
        self._by_trigram, self._by_deletion = dict(by_trigram), dict(by_deletion)
        self._sorted = sorted(self.counts)

    def __contains__(self, word: str) -> bool:
        return word in self.counts

    def starts(self, prefix: str) -> list[str]:
        """Words that start with ``prefix``, most common first."""
        from bisect import bisect_left

        found = []
        at = bisect_left(self._sorted, prefix)
        while at < len(self._sorted) and self._sorted[at].startswith(prefix):
            found.append(self._sorted[at])
            at += 1
        return sorted(found, key=lambda w: (-self.counts[w], w))

    def corrections(self, word: str, n: int = MAX_CORRECTIONS) -> list[str]:
        """Up to ``n`` indexed words within the allowed distance of ``word`` (itself excluded),
        nearest first, then the most common."""
        if not correctable(word):
            return []
        limit = max_distance(word)
        candidates: set[str] = set()
        for variant in _deletions(word) | {word}:
            candidates.update(self._by_deletion.get(variant, ()))
        grams = _trigrams(word)
        shared = Counter(w for gram in grams for w in self._by_trigram.get(gram, ()))
        needed = max(1, len(grams) - 3 * limit)
        candidates.update(w for w, count in shared.items() if count >= needed and abs(len(w) - len(word)) <= limit)
        candidates.discard(word)
        scored = []
        for candidate in candidates:
            d = distance(word, candidate, limit)
            if d <= limit:
                scored.append((d, -self.counts[candidate], candidate))
        return [w for _d, _c, w in sorted(scored)[:n]]


# -- the vocabulary of each database, per catalog version ----------------------------------------

_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def catalog_version(connection: Connection) -> int:
    return int(connection.execute(text("SELECT version FROM catalog_state")).scalar() or 0)


def vocabulary(connection: Connection, read, version: int | None = None) -> Vocabulary:
    """The vocabulary of ``connection``'s database; ``read(connection)`` loads it when the catalog
    version (read unless given) moved since it was last read."""
    engine = connection.engine
    version = catalog_version(connection) if version is None else version
    cached = _cache.get(engine)
    if cached is not None and cached[0] == version:
        return cached[1]
    loaded = Vocabulary(read(connection))
    with _lock:
        _cache[engine] = (version, loaded)
    return loaded
