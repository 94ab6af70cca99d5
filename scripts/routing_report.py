"""Where the trained Rasa model sends each question of the evaluation set.

A knowledge question (answerable or near miss, in any language) must reach
`action_search_knowledge`: only the knowledge base can judge whether the articles answer
it. An explicit request for a person must reach `action_handoff`. This script loads the
trained model with Rasa's public `Agent` API, replays each question (after its earlier
turns, for follow-ups) through the NLU pipeline and the dialogue policies, and counts per
part of the fixed split how many are sent elsewhere (chitchat, greet, help, ...).

Runs under the Rasa environment:

    .venv-rasa/bin/python scripts/routing_report.py --model .data/models/nimbus.tar.gz

No action is executed, so no action server is needed: the route is the next action the
policies predict, exactly what `rasa run` would execute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: make `knowledge.eval.dataset` importable
    sys.path.insert(0, str(ROOT))

from knowledge.eval.dataset import EvalQuestion, load_questions  # noqa: E402

KNOWLEDGE_ACTION = "action_search_knowledge"
HANDOFF_ACTION = "action_handoff"
KNOWLEDGE_KINDS = ("answerable", "near_miss")


@dataclass(frozen=True)
class Route:
    intent: str
    confidence: float
    action: str


def load_agent(model: Path, log_level: int = logging.WARNING):
    """The trained model as `rasa run` loads it (no endpoints: nothing is executed)."""
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    # Rasa's per-message debug lines would bury the report.
    configure_logging_and_warnings(log_level)
    configure_structlog(log_level)
    return Agent.load(str(model))


async def route(agent, turns: Sequence[str], sender_id: str = "routing-report") -> Route:
    """The next action the model predicts after the last of `turns`.

    Earlier turns are replayed as `rasa run` would have handled them: the customer's
    message, the action the policies chose, then listening again.
    """
    from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker(sender_id, agent.domain.slots)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    result = Route("", 0.0, "")
    for text in turns:
        parsed = await agent.parse_message(text)
        tracker.update(UserUttered(text, parsed["intent"], parsed.get("entities", []), parsed))
        prediction = agent.predict_next_with_tracker(tracker)
        best = max(prediction["scores"], key=lambda s: s["score"])
        intent = parsed["intent"] or {}
        result = Route(str(intent.get("name")), float(intent.get("confidence") or 0.0), best["action"])
        tracker.update(ActionExecuted(result.action))
        tracker.update(ActionExecuted("action_listen"))
    return result


def wrongly_routed(question: EvalQuestion, result: Route) -> bool:
    """Knowledge questions must reach the knowledge action; requests for a person, a handoff."""
    if question.kind in KNOWLEDGE_KINDS:
        return result.action != KNOWLEDGE_ACTION
    if question.kind == "handoff":
        return result.action != HANDOFF_ACTION
    return False  # off-topic: the knowledge action or a chitchat reply are both fine


async def route_all(agent, questions: Iterable[EvalQuestion]) -> list[tuple[EvalQuestion, Route]]:
    return [(q, await route(agent, [*q.history, q.q], sender_id=q.id)) for q in questions]


def summary(results: list[tuple[EvalQuestion, Route]], part: str) -> dict:
    chosen = [(q, r) for q, r in results if q.part == part]
    knowledge = [(q, r) for q, r in chosen if q.kind in KNOWLEDGE_KINDS]
    handoff = [(q, r) for q, r in chosen if q.kind == "handoff"]
    off_topic = [(q, r) for q, r in chosen if q.kind == "off_topic"]

    def away(rows):
        return [(q, r) for q, r in rows if wrongly_routed(q, r)]

    return {
        "part": part,
        "knowledge_questions": len(knowledge),
        "knowledge_sent_away": len(away(knowledge)),
        "knowledge_sent_away_by_group": {
            group: f"{sum(wrongly_routed(q, r) for q, r in rows)}/{len(rows)}"
            for group, rows in _groups(knowledge).items()
        },
        "sent_away_to": dict(Counter(r.action for _, r in away(knowledge))),
        "handoff_requests": len(handoff),
        "handoff_not_handed_off": len(away(handoff)),
        "off_topic": len(off_topic),
        "off_topic_routes": dict(Counter(r.action for _, r in off_topic)),
        "wrong": [
            {"id": q.id, "q": q.q, "history": list(q.history), "kind": q.kind, "intent": r.intent,
             "confidence": round(r.confidence, 3), "action": r.action}
            for q, r in away(knowledge) + away(handoff)
        ],
    }  # fmt: skip


def _groups(rows):
    groups: dict[str, list] = {}
    for q, r in rows:
        lang = "English" if q.lang == "en" else "non-English"
        groups.setdefault(f"{lang} {q.kind}", []).append((q, r))
        if q.history:
            groups.setdefault("follow-ups", []).append((q, r))
    return dict(sorted(groups.items()))


def print_summary(report: dict, show_wrong: bool) -> None:
    print(f"== {report['part']} part ==")
    print(
        f"knowledge questions sent away from {KNOWLEDGE_ACTION}: "
        f"{report['knowledge_sent_away']}/{report['knowledge_questions']}"
    )
    for group, value in report["knowledge_sent_away_by_group"].items():
        print(f"  {group:28} {value}")
    if report["sent_away_to"]:
        print(f"  sent to: {report['sent_away_to']}")
    print(
        f"requests for a person not handed off: "
        f"{report['handoff_not_handed_off']}/{report['handoff_requests']}"
    )
    print(f"off-topic routes (not counted as wrong): {report['off_topic_routes']}")
    if show_wrong:
        for row in report["wrong"]:
            turns = " / ".join([*row["history"], row["q"]])
            print(f"  WRONG {row['id']:8} {row['kind']:10} {row['intent']}({row['confidence']}) "
                  f"-> {row['action']}: {turns}")  # fmt: skip
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / ".data" / "models" / "nimbus.tar.gz")
    parser.add_argument("--questions", type=Path, default=None, help="evaluation set (default: ours)")
    parser.add_argument("--part", choices=("tune", "test", "both"), default="both")
    parser.add_argument("--show-wrong", action="store_true", help="list every wrongly routed question")
    parser.add_argument("--json", type=Path, help="also write the reports as JSON here")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        print(f"no trained model at {args.model}: train one first (make train)", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore", DeprecationWarning)  # TensorFlow/matplotlib import noise
    agent = load_agent(args.model)
    results = asyncio.run(route_all(agent, load_questions(args.questions)))
    parts = ("tune", "test") if args.part == "both" else (args.part,)
    reports = [summary(results, part) for part in parts]
    for report in reports:
        print_summary(report, args.show_wrong)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
