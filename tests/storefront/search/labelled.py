"""A labelled query set generated from the catalogue, and recall@k over it.

Classes (``QUERIES_PER_CLASS`` each, products drawn with a fixed seed):
- ``exact``: a product's name -> that product;
- ``brand_category``: "<brand> <category>" -> the active products of that brand in that category;
- ``plural``: the name with one noun's number flipped (headphones <-> headphone) -> the product;
- ``partial``: the name with one word cut to its first 3-5 letters -> the product;
- ``typo1``: one edit (deletion, insertion, substitution or transposition) in one word of four
  letters or more, half in a product's name (-> the product), half in a "<brand> <category>"
  query (-> that brand's products in that category);
- ``typo2``: the same with two edits, in one word of seven letters or more or one in each of two
  words.

Recall@k of a query: the share of its relevant products in the first k results, out of
``min(k, relevant)``; a class's recall is the mean over its queries.
"""
from __future__ import annotations

import random
import re
import string
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import text

from storefront.search.matching import distance

QUERIES_PER_CLASS = 100
CLASSES = ("exact", "brand_category", "plural", "partial", "typo1", "typo2")
_ALPHA = re.compile(r"^[A-Za-z]+$")


@dataclass(frozen=True)
class LabelledQuery:
    kind: str
    text: str
    relevant: frozenset[int]


def _typo(rng: random.Random, word: str) -> str:
    """``word`` with exactly one edit (lower-case)."""
    word = word.lower()
    while True:
        i = rng.randrange(len(word))
        kind = rng.choice(("delete", "insert", "substitute", "transpose"))
        if kind == "delete":
            out = word[:i] + word[i + 1:]
        elif kind == "insert":
            out = word[:i] + rng.choice(string.ascii_lowercase) + word[i:]
        elif kind == "substitute":
            out = word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1:]
        else:
            if i == len(word) - 1:
                continue
            out = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if distance(out, word, 2) == 1:
            return out


def _plural(word: str) -> str:
    lower = word.lower()
    if lower.endswith("ies"):
        return lower[:-3] + "y"
    if lower.endswith("es") and lower[:-2].endswith(("sh", "ch", "x")):
        return lower[:-2]
    if lower.endswith("s") and not lower.endswith("ss"):
        return lower[:-1]
    if lower.endswith(("sh", "ch", "x", "ss")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return lower[:-1] + "ies"
    return lower + "s"


def build(connection, seed: int = 7, per_class: int = QUERIES_PER_CLASS) -> list[LabelledQuery]:
    rows = connection.execute(text(
        "SELECT p.id, p.name, p.brand, c.name FROM products p JOIN categories c ON c.id = p.category_id "
        "WHERE p.active ORDER BY p.id")).all()
    rng = random.Random(seed)
    by_brand_category: dict[tuple[str, str], set[int]] = defaultdict(set)
    for pid, _name, brand, category in rows:
        by_brand_category[(brand, category)].add(pid)
    queries: list[LabelledQuery] = []

    def sample(n):
        return rng.sample(rows, min(n, len(rows)))

    for pid, name, _brand, _category in sample(per_class):
        queries.append(LabelledQuery("exact", name, frozenset({pid})))
    pairs = sorted(by_brand_category)
    for brand, category in rng.sample(pairs, min(per_class, len(pairs))):
        queries.append(LabelledQuery("brand_category", f"{brand} {category}", frozenset(by_brand_category[(brand, category)])))
    # half the typo queries are short ones: "<brand> <category>" misspelt ("zentek headphnes")
    short = [(f"{brand} {category}", frozenset(by_brand_category[(brand, category)])) for brand, category in pairs]
    for kind, count in (("typo1", per_class // 2), ("typo2", per_class // 2)):
        made = 0
        for query_text, relevant in rng.sample(short, len(short)):
            if made == count:
                break
            edited = _misspell(rng, query_text.split(), kind)
            if edited is not None:
                queries.append(LabelledQuery(kind, " ".join(edited), relevant))
                made += 1
    for kind, count in (("plural", per_class), ("partial", per_class), ("typo1", per_class - per_class // 2),
                        ("typo2", per_class - per_class // 2)):
        made = 0
        for pid, name, brand, _category in rng.sample(rows, len(rows)):
            if made == count:
                break
            tokens = name.split()
            brand_words = {w.lower() for w in brand.split()}
            editable = [i for i, t in enumerate(tokens) if _ALPHA.match(t) and len(t) >= 4]
            if kind == "plural":
                nouns = [i for i in editable if t_lower(tokens[i]) not in brand_words]
                if not nouns:
                    continue
                i = nouns[-1]
                tokens[i] = _plural(tokens[i])
            elif kind == "partial":
                longer = [i for i in editable if len(tokens[i]) >= 6]
                if not longer:
                    continue
                i = rng.choice(longer)
                tokens[i] = tokens[i][:rng.randint(3, 5)]
            else:
                tokens = _misspell(rng, tokens, kind)
                if tokens is None:
                    continue
            queries.append(LabelledQuery(kind, " ".join(tokens), frozenset({pid})))
            made += 1
    return queries


def _misspell(rng: random.Random, tokens: list[str], kind: str) -> list[str] | None:
    """One edit in a word of four letters or more (``typo1``); two (``typo2``): in one word of
    seven letters or more, or one in each of two words. None when the words do not allow it."""
    tokens = list(tokens)
    editable = [i for i, t in enumerate(tokens) if _ALPHA.match(t) and len(t) >= 4]
    if kind == "typo1":
        if not editable:
            return None
        i = rng.choice(editable)
        tokens[i] = _typo(rng, tokens[i])
        return tokens
    long_words = [i for i in editable if len(tokens[i]) >= 7]
    if long_words and (len(editable) < 2 or rng.random() < 0.5):
        i = rng.choice(long_words)
        twice = _typo(rng, _typo(rng, tokens[i]))
        if distance(twice, tokens[i].lower(), 3) != 2:
            return None
        tokens[i] = twice
    elif len(editable) >= 2:
        for i in rng.sample(editable, 2):
            tokens[i] = _typo(rng, tokens[i])
    else:
        return None
    return tokens


def t_lower(word: str) -> str:
    return word.lower()


@dataclass
class Evaluation:
    recall: dict[str, float]  # class -> mean recall@k
    zero_results: dict[str, float]  # class -> share of queries with no result
    counts: dict[str, int]
    misses: dict[str, list[str]]  # class -> a few queries whose relevant products were missed

    @property
    def overall_zero_results(self) -> float:
        total = sum(self.counts.values())
        return sum(self.zero_results[k] * self.counts[k] for k in self.counts) / total if total else 0.0

    def table(self) -> str:
        lines = [f"{'class':<16}{'queries':>8}{'recall@10':>11}{'zero-result':>13}"]
        for kind in self.counts:
            lines.append(f"{kind:<16}{self.counts[kind]:>8}{self.recall[kind]:>11.3f}{self.zero_results[kind]:>13.1%}")
        lines.append(f"{'all':<16}{sum(self.counts.values()):>8}{'':>11}{self.overall_zero_results:>13.1%}")
        return "\n".join(lines)


def evaluate(queries: list[LabelledQuery], search, k: int = 10) -> Evaluation:
    """``search(text) -> (ids best first, total)``."""
    recalls: dict[str, list[float]] = defaultdict(list)
    zeros: dict[str, int] = defaultdict(int)
    misses: dict[str, list[str]] = defaultdict(list)
    for query in queries:
        ids, total = search(query.text)
        hit = len(set(ids[:k]) & query.relevant) / min(k, len(query.relevant))
        recalls[query.kind].append(hit)
        zeros[query.kind] += total == 0
        if hit < 1 and len(misses[query.kind]) < 5:
            misses[query.kind].append(query.text)
    counts = {kind: len(values) for kind, values in recalls.items()}
    return Evaluation({kind: sum(v) / len(v) for kind, v in recalls.items()},
                      {kind: zeros[kind] / counts[kind] for kind in counts}, counts, dict(misses))
