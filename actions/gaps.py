"""What the articles are missing: unanswered questions grouped by topic.

Refused questions, questions handed to a person because the articles had nothing, and
answers customers marked unhelpful, clustered by meaning with the knowledge engine's own
embedder. Each group is named by its most central question (the one closest on average
to the others: a real customer's wording, not a made-up label) and shows the article the
search comes closest to, which is the article to extend or the place a new one belongs.

    python -m actions.gaps                 # groups, biggest first
    python -m actions.gaps --csv gaps.csv  # every question with its group
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from actions.console import adapter
from actions.console.adapter import GapQuestion

# Each question is linked to its nearest few: enough that a topic's questions hold
# together, few enough that two topics are joined only by their odd question. Chosen on
# tests/actions/gap_topics_tuning.py (5 and 6 neighbours grouped it best, 4 and 7 worse).
NEIGHBOURS = 5
SEEDS = 10
# all-MiniLM-L6-v2 cosine above which two questions read as the same question reworded.
SAME_TOPIC = 0.6
# The knowledge base's leading directions taken out of the questions before they are
# compared (see `normalise`): the articles' first two principal components explain 13 %
# and 11 % of their variance, the third 6 % (the elbow). 2-5 grouped the tuning and check
# sets alike (adjusted Rand 0.88-0.95), 0 worse (0.80-0.84): docs/console.md.
ARTICLE_DIRECTIONS = 2


@dataclass
class Group:
    name: str
    questions: list[GapQuestion]
    nearest: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.questions)

    def kinds(self) -> Counter:
        return Counter(q.kind for q in self.questions)

    def languages(self) -> Counter:
        return Counter(q.language or "?" for q in self.questions)

    def channels(self) -> Counter:
        return Counter(q.channel for q in self.questions)


def article_directions(
    article_vectors: np.ndarray | None, count: int = ARTICLE_DIRECTIONS
) -> np.ndarray | None:
    """The knowledge base's leading principal directions (rows, unit length), or None.

    Every question a customer asks this bot shares what the articles share: heating,
    a thermostat, an app, an account. In all-MiniLM-L6-v2 that common meaning dominates
    a short question's vector, so "my gift card code" sits near "my promo code" and "is
    HomeKit supported" near "add my second home". The articles' own top directions are
    a measured estimate of that shared meaning, taken from the team's content rather than
    from the questions being grouped (with 60 questions, their own top directions would be
    the topics themselves).
    """
    if article_vectors is None or len(article_vectors) <= count or count <= 0:
        return None
    centred = article_vectors - article_vectors.mean(axis=0)
    return np.linalg.svd(centred, full_matrices=False)[2][:count]


def normalise(vectors: np.ndarray, directions: np.ndarray | None) -> np.ndarray:
    """Unit vectors of what sets each question apart: the batch's mean (what all these
    questions share) and the articles' leading directions removed."""
    if directions is None:
        return vectors
    centred = vectors - vectors.mean(axis=0)
    centred = centred - (centred @ directions.T) @ directions
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    return centred / np.maximum(norms, 1e-12)


def cluster(
    vectors: np.ndarray, neighbours: int = NEIGHBOURS, directions: np.ndarray | None = None
) -> np.ndarray:
    """Topic labels for unit vectors: communities of the nearest-neighbour graph.

    The number of topics is what the team wants to learn, so it is not a setting.
    Cutting a cluster tree at the best silhouette, or k-means, grouped the tuning
    questions worse (adjusted Rand 0.36-0.62) than Louvain communities of the graph
    linking each question to its nearest neighbours (0.84): short questions on one topic
    form chains of close pairs rather than round clouds. Louvain is randomised; the
    partition with the highest modularity over a few fixed seeds is kept, so the same
    questions always give the same groups.
    """
    import networkx as nx

    n = len(vectors)
    similarity = vectors @ vectors.T
    if n < 3:
        # Too few for a graph: two questions are one topic only if they are near paraphrases.
        return np.array([0, int(similarity[0, 1] < SAME_TOPIC)])[:n] if n == 2 else np.zeros(n, dtype=int)
    normalised = normalise(vectors, directions)
    similarity = normalised @ normalised.T
    np.fill_diagonal(similarity, -1.0)
    nearest = np.argsort(-similarity, axis=1)[:, : min(neighbours, n - 1)]
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for i in range(n):
        for j in nearest[i]:
            graph.add_edge(i, int(j), weight=max(float(similarity[i, j]), 1e-3))
    best, best_quality = None, -1.0
    for seed in range(SEEDS):
        communities = nx.community.louvain_communities(graph, weight="weight", seed=seed)
        quality = nx.community.modularity(graph, communities, weight="weight")
        if quality > best_quality:
            best, best_quality = communities, quality
    labels = np.zeros(n, dtype=int)
    for label, members in enumerate(sorted(best, key=min)):
        labels[list(members)] = label
    return labels


def central(vectors: np.ndarray) -> int:
    """Index of the vector with the highest mean similarity to the others."""
    return int(np.argmax((vectors @ vectors.T).mean(axis=1)))


def group_questions(
    questions: Sequence[GapQuestion],
    embed: Callable[[Sequence[str]], np.ndarray] = adapter.embed,
    nearest: Callable[[str], dict] | None = adapter.nearest_article,
    article_vectors: Callable[[], np.ndarray | None] | None = adapter.article_vectors,
) -> list[Group]:
    """Groups biggest first; identical wordings are embedded once."""
    if not questions:
        return []
    texts = list(dict.fromkeys(q.question.strip() for q in questions))
    unique_vectors = embed(texts)
    index = {text: i for i, text in enumerate(texts)}
    vectors = unique_vectors[[index[q.question.strip()] for q in questions]]
    directions = article_directions(article_vectors() if article_vectors is not None else None)
    labels = cluster(vectors, directions=directions)
    groups: list[Group] = []
    for label in sorted(set(labels.tolist())):
        members = [i for i, value in enumerate(labels) if value == label]
        centre = members[central(vectors[members])]
        name = questions[centre].question.strip()
        group = Group(name=name, questions=[questions[i] for i in members])
        if nearest is not None:
            group.nearest = nearest(name)
        groups.append(group)
    groups.sort(key=lambda g: (-g.count, g.name))
    return groups


def since(days: float | None) -> str:
    if not days:
        return ""
    return (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")


def collect(days: float | None = None, limit: int = 2000) -> list[Group]:
    return group_questions(adapter.gap_questions(limit=limit, since=since(days)))


CSV_HEADER = [
    "group",
    "group_size",
    "nearest_article",
    "question",
    "kind",
    "channel",
    "language",
    "at",
    "conversation_id",
]


def to_csv(groups: Sequence[Group]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for group in groups:
        for q in group.questions:
            writer.writerow(
                [
                    group.name,
                    group.count,
                    group.nearest.get("article_id", ""),
                    q.question,
                    q.kind,
                    q.channel,
                    q.language,
                    q.at,
                    q.conversation_id,
                ]
            )
    return out.getvalue()


def counts(counter: Counter) -> str:
    return ", ".join(f"{key} {value}" for key, value in counter.most_common())


def to_text(groups: Sequence[Group]) -> str:
    if not groups:
        return "No unanswered or unhelpful questions recorded yet."
    lines = []
    total = sum(g.count for g in groups)
    lines.append(f"{total} questions in {len(groups)} topics\n")
    for number, group in enumerate(groups, 1):
        nearest = group.nearest.get("article_id") or "-"
        lines.append(f"{number}. {group.name}  ({group.count})")
        lines.append(f"   why:       {counts(group.kinds())}")
        lines.append(f"   channels:  {counts(group.channels())}")
        lines.append(f"   languages: {counts(group.languages())}")
        lines.append(f"   nearest article: {nearest} ({group.nearest.get('confidence', 0.0):.2f})")
        for q in group.questions[:5]:
            lines.append(f"     - {q.question}")
        if group.count > 5:
            lines.append(f"     ... and {group.count - 5} more")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.gaps", description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=None, help="only the last N days")
    parser.add_argument("--limit", type=int, default=2000, help="at most this many questions (newest)")
    parser.add_argument("--csv", metavar="PATH", help="write every question with its group ('-' = stdout)")
    args = parser.parse_args(argv)
    groups = collect(args.days, args.limit)
    if args.csv == "-":
        sys.stdout.write(to_csv(groups))
        return 0
    if args.csv:
        with open(args.csv, "w", encoding="utf-8", newline="") as handle:
            handle.write(to_csv(groups))
    print(to_text(groups))
    return 0


if __name__ == "__main__":
    sys.exit(main())
