"""The "Reply MORE" offer on SMS (issue 18, thirteenth session): how often it is made, and
whether the longer last line costs the SMS answer anything once rendered.

    .venv-actions/bin/python -m bench.sms_more                       # tune part
    .venv-actions/bin/python -m bench.sms_more --questions FILE ...  # question files instead

`kb eval`'s answer check counts facts in the answer text at the SMS budget (and, in its
`sms + MORE` row, in the REST-budget answer where the SMS answer offers MORE); it does not
render. This renders every English answerable question's SMS answer as the bot sends it
(actions/render/sms.py, 3 segments, the sources line and the last line), once with the
plain feedback prompt and once with the MORE offer where `Answer.more` is set, and counts
the answers whose body the renderer had to shorten to fit, and any message over 3
segments. It also renders the REST-budget answer as the MORE reply and checks it fits
`SMS_MORE_SEGMENTS` (8) and 1,600 characters.

Adoption rule (written before the dev files were measured): MORE lands when (a) `kb eval`'s
SMS row is unchanged by it (the offer changes no answer text), (b) here, the offer makes the
renderer shorten at most 1 % of the bodies it is added to and no message exceeds its
segments, (c) `sms + MORE` is above `sms` on the tune part and every development file (it
cannot be below by construction; a gain under 3 questions on the tune part would make the
feature not worth its complexity), and (d) the end-to-end test shows offer, MORE with the
fact, and the polite reply.
"""

from __future__ import annotations

import argparse

import yaml

from actions.render.sms import (
    MAX_CHARS,
    SmsRenderer,
    more_segments,
    normalise,
    plain_body,
    segments,
)
from knowledge.eval.dataset import load_questions
from knowledge.service import KnowledgeBase


class _Question:
    def __init__(self, item: dict) -> None:
        self.q = item["q"]
        self.history = list(item.get("history") or [])


def questions(files: list[str]) -> list:
    if not files:
        return [q for q in load_questions() if q.part == "tune" and (q.lang or "en") == "en" and q.facts]
    chosen = []
    for path in files:
        for item in yaml.safe_load(open(path, encoding="utf-8"))["questions"]:
            if (item.get("lang") or "en") == "en" and item.get("kind", "answerable") == "answerable":
                chosen.append(_Question(item))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", nargs="*", default=[])
    args = parser.parse_args()
    kb = KnowledgeBase()
    three = SmsRenderer(max_segments=3, link_base="")
    longer = SmsRenderer(max_segments=more_segments(), link_base="")
    answered = offers = cut_plain = cut_offer = over = more_over = 0
    more_chars = []
    for question in questions(args.questions):
        answer = kb.ask(question.q, history=list(question.history or []), channel="sms")
        if answer.method not in ("extractive", "llm"):
            continue
        answered += 1
        body = normalise(plain_body(answer.text)).strip()
        offered = answer.more
        answer.more = False
        plain = three.render(answer, feedback_ref="ref")[0].json_message["sms"]["text"]
        cut_plain += not plain.startswith(body)
        over += segments(plain) > 3
        if not offered:
            continue
        offers += 1
        answer.more = True
        text = three.render(answer, feedback_ref="ref")[0].json_message["sms"]["text"]
        cut_offer += not text.startswith(body)
        over += segments(text) > 3
        rest = kb.ask(question.q, history=list(question.history or []), channel="rest", quoted=True)
        reply = longer.render(rest, feedback_ref="ref")[0].json_message["sms"]["text"]
        more_chars.append(len(reply))
        more_over += segments(reply) > longer.max_segments or len(reply) > MAX_CHARS
    print(f"{answered} SMS answers; MORE offered after {offers}")
    print(
        f"bodies shortened by the renderer: {cut_plain} with the feedback prompt only, "
        f"{cut_offer} of the {offers} with the offer"
    )
    print(f"messages over 3 segments: {over}")
    if more_chars:
        more_chars.sort()
        print(
            f"MORE replies: {len(more_chars)}, over {longer.max_segments} segments or 1,600 characters: "
            f"{more_over}; "
            f"characters median {more_chars[len(more_chars) // 2]}, longest {more_chars[-1]}"
        )


if __name__ == "__main__":
    main()
