"""What the customer hears for messages the NLU takes for small talk.

The question guard (rasa_ext/question_guard.py) sends a question-shaped `chitchat`,
`bot_challenge`, `greet` or `help` message that says more than courtesy to the knowledge
action, which answers it only when the articles answer confidently and otherwise keeps the
small-talk reply. `routing_report.py` sees only
the predicted action; this check follows such messages to the real knowledge base. It runs
in two steps, because Rasa and the knowledge engine live in different environments:

    .venv-rasa/bin/python scripts/small_talk_check.py route --source nlu --out /tmp/st.json
    .venv-actions/bin/python scripts/small_talk_check.py ask /tmp/st.json

`--source nlu`: every `chitchat` / `bot_challenge` / `greet` / `help` example of
bot/data/nlu.yml (none may get a knowledge answer); `--source tune|test`: the knowledge
questions of that part of the evaluation set (`--questions FILE`: of another question file
in the same format, such as a file of questions wrapped in greetings). For questions with
a known article, `ask` also counts the confident answers from that article, from another
one, and near misses answered confidently.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from contract import parse_data  # noqa: E402  (both environments import it)

SMALL_TALK = ("chitchat", "bot_challenge", "greet", "help")


def _items(source: str, questions: Path | None = None) -> list[dict]:
    if source == "nlu":
        import yaml

        nlu = yaml.safe_load((ROOT / "bot" / "data" / "nlu.yml").read_text(encoding="utf-8"))["nlu"]
        return [
            {"id": f"{item['intent']}-{n}", "q": line[2:], "history": [], "taught": item["intent"]}
            for item in nlu
            if item.get("intent") in SMALL_TALK
            for n, line in enumerate(item["examples"].splitlines())
            if line.startswith("- ")
        ]
    from knowledge.eval.dataset import load_questions

    return [
        {"id": q.id, "q": q.q, "history": list(q.history), "kind": q.kind, "article": q.article}
        for q in load_questions(questions)
        if source in (q.part, "both") and q.kind in ("answerable", "near_miss")
    ]


async def _route(agent, items: list[dict]) -> None:
    from routing_report import route

    for item in items:
        item["action"] = (await route(agent, [*item["history"], item["q"]], sender_id=item["id"])).action
        parsed = await agent.parse_message(item["q"])
        item["intent"] = (parsed.get("intent") or {}).get("name")
        item["guard"] = parsed.get(parse_data.GUARD)


def route_step(source: str, model: Path, out: Path, questions: Path | None = None) -> None:
    from routing_report import load_agent

    warnings.simplefilter("ignore", DeprecationWarning)
    items = _items(source, questions)
    asyncio.run(_route(load_agent(model), items))
    out.write_text(json.dumps(items, indent=1, ensure_ascii=False), encoding="utf-8")
    guarded = [i for i in items if (i["guard"] or {}).get(parse_data.UNLESS_ANSWERED)]
    print(f"{len(items)} messages, {len(guarded)} sent to the knowledge action as small talk")


def ask_step(path: Path) -> None:
    from actions.knowledge_action import CONFIDENT_METHODS, small_talk_reply
    from actions.language import customer_language
    from knowledge.language import ENGLISH
    from knowledge.service import KnowledgeBase

    items = json.loads(path.read_text(encoding="utf-8"))
    kb = KnowledgeBase()
    heard: Counter[str] = Counter()
    judged: Counter[str] = Counter()
    for item in items:
        reply = small_talk_reply({parse_data.GUARD: item.get("guard")})
        if not reply:
            continue
        language = customer_language(item["q"], {}, None)
        answer = kb.ask(item["q"], history=item["history"], language="" if language == ENGLISH else language)
        answered = answer.method in CONFIDENT_METHODS
        heard["answer" if answered else reply] += 1
        sources = ", ".join(s.article_id for s in answer.sources)
        said = f"ANSWER ({answer.method}; {sources})" if answered else f"{reply} (kb: {answer.method})"
        if answered and item.get("kind"):
            verdict = _verdict(item, [s.article_id for s in answer.sources])
            judged[verdict] += 1
            said += f" [{verdict}]"
        print(f"  {item['id']:16} {item['intent'] or '-':14} -> {said}: {item['q']}")
    print(f"replies: {dict(heard)}")
    if judged:
        print(f"confident answers: {dict(judged)}")


def _verdict(item: dict, articles: list[str]) -> str:
    """A confident answer to a known question: from its article, another one, or a near miss."""
    if item["kind"] == "near_miss":
        return "near miss answered"
    return "right article" if articles[:1] == [item.get("article")] else "wrong article"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    route_parser = steps.add_parser("route", help="under .venv-rasa: which messages the guard marks")
    route_parser.add_argument("--source", choices=("nlu", "tune", "test", "both"), default="nlu")
    route_parser.add_argument("--questions", type=Path, default=None, help="question file (default: ours)")
    route_parser.add_argument("--model", type=Path, default=ROOT / ".data" / "models" / "nimbus.tar.gz")
    route_parser.add_argument("--out", type=Path, required=True)
    ask_parser = steps.add_parser("ask", help="under .venv-actions: what the knowledge base says to them")
    ask_parser.add_argument("routes", type=Path)
    args = parser.parse_args(argv)
    if args.step == "route":
        route_step(args.source, args.model, args.out, args.questions)
    else:
        ask_step(args.routes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
