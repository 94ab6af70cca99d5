"""An answer quoted from the articles, for when no model is configured or the model fails.

It cannot invent anything: it quotes the section of a help article that best answers
the question, with the section's heading for context, cut to the channel's budget and
cited. Quoting whole sections keeps what loose sentences lost: steps stay numbered in
their list, a price stays in its table row, a sentence that says "this" keeps what it
refers to. The part that answers comes first; the rest of the section follows while the
budget lasts. A second section is quoted only when the first lacks words the question
asks about and another section has them, or when another section scores nearly as well;
and a section whose heading names the question's case clearly better than any other
heading of the article is quoted too, after the rest, while the budget lasts
(`_named_section`; not at the SMS budget, where it would push out the parts that answer).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from knowledge.answer.structure import Block, is_table_start, parse_blocks, row_line, strip_markup
from knowledge.budget import budget_for, extra_source_lines
from knowledge.documents import Passage

# A section from another article much weaker than the best one would cite the wrong
# article; every retrieved section of the best article is a candidate.
PASSAGE_MARGIN = 0.05
# How much a section's heading matching the question counts next to its best part.
# Weights chosen on the tune part of the evaluation set; they moved the fact rate by a
# few questions at most (the shape of the answer, whole sections, is what mattered).
HEADING_WEIGHT = 0.05
OVERLAP_WEIGHT = 0.2
RANK_WEIGHT = 0.03
# An article's opening paragraphs (no heading of their own) introduce the topic in the
# question's words but rarely hold the figure or the steps; they need a clearer lead.
INTRO_PENALTY = 0.1
# An article's opening paragraph may end by pointing ahead ("Work through these steps in
# order.", "try the steps below", "Here's what happens and how to fix it.", "This article
# walks you through checkout."): what it points at is in later sections, so quoted, the
# answer would end on "these steps" and show none. That sentence is left out; the rest of
# the paragraph ("Your thermostat keeps heating ... even when it's offline") still answers.
_POINTS_AHEAD = re.compile(
    r"(?:\bbelow\b|\bthese (?:steps|checks|tips)\b|\beach one\b|\bthe following\b|\bas follows\b)"
    r"[^.!?]*[.!]?$|:$|^(?:here(?:'s| is| are)|this article)\b",
    re.IGNORECASE,
)
# A second section must be nearly as relevant as the first to be worth the space.
SECOND_SECTION_FLOOR = 0.1
# When another section's best part scores this close to the first's, the scores cannot
# tell which section answers: the second is quoted too, while the budget lasts. (Chosen
# on the tune part of the evaluation set: facts at the REST budget 96 -> 104 of 122.)
AMBIGUOUS = 0.1
# A heading of the answer's article that matches the question at least this much better
# than every other heading of it names the question's case: its section is quoted too. The
# same 0.1 as AMBIGUOUS, the margin under which scores cannot tell sections apart; not tuned.
HEADING_GAP = AMBIGUOUS
# "How do I ...?" asks for steps, "how much/long ...?" for a figure: a numbered step, or a
# part with a number in it, is that much more likely to be the answer.
SHAPE_BONUS = 0.25
_ASKS_STEPS = re.compile(r"\bhow (?:do|can|should|would) (?:i|we|you)\b|\bhow to\b|\bsteps?\b", re.IGNORECASE)
_ASKS_FIGURE = re.compile(
    r"\bhow (?:much|many|long|soon|often|old)\b|\b(?:cost|costs|price|fee|fees|charge|when)\b", re.IGNORECASE
)
# At or under this many characters (SMS: 340) a whole section's block rarely fits beside its
# heading, so the answer is built from the best sentences, steps and rows themselves
# (`_compact`) instead of from whole blocks.
TIGHT_BUDGET = 500
# Parts scoring this far below the best one are not worth an SMS's space.
TIGHT_FLOOR = 0.25
_FIGURE = re.compile(r"\d|\bfree\b|\bone\b|\btwo\b|\bthree\b|\bfive\b|\bten\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
# Parts of articles embedded so far: articles change rarely and the same sections answer
# many questions, so after the first few questions only the question is embedded.
_CACHE_LIMIT = 50_000
_vectors: dict[str, np.ndarray] = {}
# The last questions embedded: an SMS question is answered at two budgets (the SMS answer,
# and the REST-budget one it is compared with to offer MORE), embedded once.
_QUESTION_LIMIT = 256
_question_vectors: dict[tuple[int, str], tuple[object, np.ndarray]] = {}
# Words that lean on something said before them: a block opening with one is kept after
# the block it follows, never quoted first.
_LEANING = re.compile(
    r"^(?:\W*)(it|its|it's|this|that|these|those|they|them|their|there|then|so|also|otherwise|"
    r"he|she|such|both|either)\b",
    re.IGNORECASE,
)
STOPWORDS = frozenset(
    "a an and are can do does for from how i if in is it my of on or the to what when where which who "
    "why will with you your me we our be this that there have has get got just still any much many long "
    "did was not no yes should would could about can't cant dont don't im i'm".split()
)


# A pronoun among a quoted sentence's first words ("If it's blown, ...", "To do that, ...")
# usually points at the sentence before: quoted alone, it would point at nothing.
_EARLY_PRONOUN = re.compile(
    r"^(?:\W*\w+){0,3}?\W*\b(it|it's|its|this|that|these|those|they|them)\b", re.IGNORECASE
)


# "that" right after a noun opens a relative clause ("Invoices that have already been
# issued ..."), which names its own referent; only after a word like these ("To do that",
# "If that fails") or first does it point back.
_POINTING_THAT_AFTER = frozenset(
    "to do did does if after before when with of for from about like than and but or so because on at by "
    "is was are were be been try tried use used".split()
)


def _refers_back(text: str) -> bool:
    match = _EARLY_PRONOUN.match(strip_markup(text))
    if not match:
        return False
    if match.group(1).lower() != "that":
        return True
    before = re.findall(r"[\w']+", match.string[: match.start(1)].lower())
    if not before or before[-1] in _POINTING_THAT_AFTER:
        return True
    rest = match.string[match.end(1) :]
    return _refers_back(rest) if rest.strip() else False


def leans_back(text: str) -> bool:
    return bool(_LEANING.match(strip_markup(text)))


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(strip_markup(text).lower()) if w not in STOPWORDS and len(w) > 1}


@dataclass
class _Section:
    index: int  # position of its passage in the list given (citation number - 1)
    passage: Passage
    blocks: list[Block]


@dataclass
class _Unit:
    section: int
    block: int
    part: int
    text: str  # what is embedded and matched (a table row with its column names)
    shape: str  # "step", "item", "row" or "sentence"


def _embed_cached(embedder, texts: list[str]) -> np.ndarray:
    missing = list(dict.fromkeys(t for t in texts if t not in _vectors))
    if missing:
        if len(_vectors) + len(missing) > _CACHE_LIMIT:
            _vectors.clear()
        _vectors.update(zip(missing, embedder.embed(missing), strict=True))
    return np.stack([_vectors[t] for t in texts])


def _embed_question(embedder, question: str) -> np.ndarray:
    key = (id(embedder), question)
    cached = _question_vectors.get(key)
    if cached is not None and cached[0] is embedder:  # the very embedder, not a reused id
        return cached[1]
    if len(_question_vectors) >= _QUESTION_LIMIT:
        _question_vectors.clear()
    vector = embedder.embed_one(question)
    _question_vectors[key] = (embedder, vector)
    return vector


def _units(s_i: int, block_index: int, block: Block) -> list[_Unit]:
    units = []
    for p_i, part in enumerate(block.parts()):
        if block.kind == "table":
            row = block.rows[p_i]
            text = "; ".join(f"{h}: {c}" if h else c for h, c in zip(block.header, row, strict=False))
            shape = "row"
        elif block.kind == "list":
            text = part
            shape = "step" if block.items[p_i].marker[0].isdigit() else "item"
        else:
            text, shape = part, "sentence"
        text = strip_markup(text)
        if len(text) >= 3:
            units.append(_Unit(s_i, block_index, p_i, text, shape))
    return units


def _own_heading(passage: Passage) -> str:
    """The section's heading, or "" for an article's opening paragraphs (their "section" is the title)."""
    return passage.section if passage.section != passage.title else ""


def _without_pointer_ahead(passage: Passage, blocks: list[Block]) -> list[Block]:
    """An opening paragraph (no heading of its own) without a last sentence pointing at later sections."""
    if _own_heading(passage):
        return blocks
    if not blocks or blocks[-1].kind != "paragraph" or not blocks[-1].sentences:
        return blocks
    if not _POINTS_AHEAD.search(strip_markup(blocks[-1].sentences[-1]).strip()):
        return blocks
    kept = blocks[-1].sentences[:-1]
    return blocks[:-1] + ([replace(blocks[-1], sentences=kept)] if kept else [])


def _shape_bonus(question: str, unit: _Unit) -> float:
    if unit.shape == "step" and _ASKS_STEPS.search(question):
        return SHAPE_BONUS
    if _ASKS_FIGURE.search(question) and _FIGURE.search(unit.text):
        return SHAPE_BONUS
    return 0.0


def _groups(blocks: list[Block]) -> list[list[int]]:
    """Blocks that must be quoted together: an intro with what it introduces, and a
    block that leans back ("This can't be undone") with the block before it."""
    groups: list[list[int]] = []
    for i, block in enumerate(blocks):
        joins = groups and (blocks[i - 1].intro or leans_back(block.parts()[0]))
        if joins:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _fit_parts(block: Block, scores: dict[int, float], best_part: int, room: int) -> list[int]:
    """Parts of the answer-bearing block that fit in `room` characters, best part included.

    Numbered steps keep a run in order: from step 1 when the best step fits that way,
    otherwise from the best step (a sub-item keeps the item it belongs to). Bullets,
    sentences and table rows are chosen best first and shown in the article's order; a
    sentence that leans on the one before brings that one along.
    """
    n = len(block.parts())
    if not _numbered(block):
        keep: list[int] = []
        for part in sorted(range(n), key=lambda p: (-scores.get(p, -1.0), p)):
            wanted = [part]
            if block.kind == "paragraph" and part > 0 and leans_back(block.sentences[part]):
                wanted.insert(0, part - 1)
            if block.kind == "list":
                parent = part
                while parent > 0 and block.items[parent].depth > 0:
                    parent -= 1
                    if block.items[parent].depth == 0:
                        wanted.insert(0, parent)
            candidate = sorted(set(keep + wanted))
            if len(block.render(candidate)) <= room:
                keep = candidate
            elif part == best_part and not keep:
                return []
        return keep
    start = 0
    if len(block.render(list(range(best_part + 1)))) > room:
        start = best_part
        while start > 0 and block.items[start].depth > 0:
            start -= 1
    keep = []
    for part in range(start, n):
        if len(block.render(keep + [part])) > room:
            break
        keep.append(part)
    return keep


def _cite(rendered: str, marker: str) -> str:
    """Put the citation after the quoted text (inside a table's last cell)."""
    if rendered.endswith(" |"):
        return rendered[:-2] + f" {marker} |"
    return f"{rendered} {marker}"


def _quote_section(
    section: _Section,
    unit_scores: dict[tuple[int, int], float],
    best: tuple[int, int],
    budget: int,
    whole_anchor: bool = False,
) -> str:
    """The section's heading, then its answer-bearing group, then the rest that fits.

    `whole_anchor`: nothing at all unless the answer-bearing group fits whole. A section
    added on the strength of its heading has no single part that answers, and a cut list
    ("3. Enter your new email address" without steps 1 and 2) would say less than nothing.
    """
    marker = f"[{section.index + 1}]"
    heading = _own_heading(section.passage)
    lead = f"**{heading}**" if heading else ""
    used = len(lead) + 2 if lead else 0
    groups = _groups(section.blocks)
    anchor = next(g for g in groups if best[0] in g)
    ordered = [anchor] + [g for g in groups if g is not anchor]
    pieces: list[str] = []
    for group in ordered:
        rendered: list[str] = []
        for b in group:
            block = section.blocks[b]
            room = budget - used - sum(len(r) + 2 for r in rendered) - len(marker) - 1
            whole = block.render()
            if len(whole) <= room:
                rendered.append(whole)
            elif group is anchor and whole_anchor:
                return ""
            elif group is anchor and b == best[0]:
                scores = {p: s for (blk, p), s in unit_scores.items() if blk == b}
                keep = _fit_parts(block, scores, best[1], room)
                if keep:
                    rendered.append(block.render(keep))
            elif group is anchor and b < best[0]:
                continue  # an intro that does not fit: the answer itself matters more
            else:
                break
        if group is anchor:
            if not rendered:
                return ""
            rendered[-1] = _cite(rendered[-1], marker)
        elif len(rendered) < len(group):
            continue  # half a group would cut an intro from its list
        pieces.extend(rendered)
        used += sum(len(r) + 2 for r in rendered)
    return "\n\n".join(([lead] if lead else []) + pieces)


def _compact(
    sections: list[_Section],
    units: list[_Unit],
    scores: np.ndarray,
    order: np.ndarray,
    budget: int,
) -> str:
    """A tight-budget answer: the best-scoring parts themselves, the answer-bearing one first.

    On SMS a section's heading and a whole list or table use most of the 340 characters
    before the part that answers; here each part is quoted on its own (a sentence, a
    numbered step with its number, a bullet, a table row as a readable line), best first,
    while they fit. Parts of the same block stay together in the article's order, so a
    run of steps still reads as steps. A sentence that leans on the one before brings it
    along; an intro ("You have two options:") is quoted only with what it introduces; the
    section heading and intros are added last, when there is room. Once a bullet or a
    table row is quoted, the rest of its list or table goes before another block's parts;
    a later step quoted first leaves room for the next part before the steps leading to it.
    """
    best = float(scores[order[0]])
    first_section = units[int(order[0])].section
    chosen: dict[tuple[int, int], set[int]] = {}  # (section, block) -> parts
    block_rank: list[tuple[int, int]] = []
    seen: set[str] = set()

    def rendered(extra: dict[tuple[int, int], set[int]] | None = None, lead: set[int] = frozenset()) -> str:
        picked = {k: set(v) for k, v in chosen.items()}
        for k, v in (extra or {}).items():
            picked.setdefault(k, set()).update(v)
        return _render_compact(
            sections,
            picked,
            [k for k in block_rank if k in picked] + [k for k in picked if k not in block_rank],
            lead,
        )

    heading: set[int] = set()  # sections whose heading the answer keeps room for
    links = {f"[{s.index + 1}]": s.passage.url for s in sections}

    def cost(text: str) -> int:
        """Characters, plus a sources line for every cited passage after the first.

        The SMS budget leaves room for one "[1] help.example.com/articles/..." line; an
        answer quoting two articles needs a second (sections of one article share a
        number once citations are applied), or the renderer cuts its last sentences.
        """
        return len(text) + extra_source_lines(links[m] for m in _MARKER.findall(text) if m in links)

    def add(key: tuple[int, int], parts: set[int]) -> bool:
        """Quote `parts` of a block too, if the answer still fits."""
        if parts <= chosen.get(key, set()) or cost(rendered({key: parts}, heading)) > budget:
            return False
        chosen.setdefault(key, set()).update(parts)
        seen.add(_piece(sections[key[0]].blocks[key[1]], chosen[key]))
        if key not in block_rank:
            block_rank.append(key)
        return True

    def candidate(k: int) -> tuple[tuple[int, int], set[int]] | None:
        """The block and parts quoting unit `k` takes, or None when it is left out."""
        u = units[k]
        if float(scores[k]) < best - TIGHT_FLOOR:
            return None
        if u.section != first_section and float(scores[k]) < best - AMBIGUOUS:
            return None
        block = sections[u.section].blocks[u.block]
        wanted = {u.part}
        if block.kind == "paragraph":
            if strip_markup(block.sentences[u.part]).rstrip().endswith(":"):
                return None  # an intro alone says nothing
            start = u.part
            while start > 0 and (leans_back(block.sentences[start]) or _refers_back(block.sentences[start])):
                start -= 1
            if leans_back(block.sentences[start]) or _refers_back(block.sentences[start]):
                return None  # its referent is in another block
            wanted.update(range(start, u.part + 1))
        elif block.kind == "list":
            parent = u.part
            while parent > 0 and block.items[parent].depth > 0:
                parent -= 1
                if block.items[parent].depth == 0:
                    wanted.add(parent)
        key = (u.section, u.block)
        if key not in chosen and _piece(block, wanted) in seen:
            return None  # the same words in another section ("1. Tap Account > Billing")
        return key, wanted

    def next_fits(after: int, key: tuple[int, int], run: set[int]) -> bool:
        """Whether the next part to be quoted from another block still fits beside `run`."""
        for k in queue[after + 1 :]:
            found = candidate(k)
            if found is not None and found[0] != key:
                return cost(rendered({key: run, found[0]: found[1]}, heading)) <= budget
        return True

    queue = [int(k) for k in order]  # best first; reordered ahead of the loop below
    deferred: tuple[int, int] | None = None  # a first step quoted before the steps leading to it
    for i, k in enumerate(queue):
        found = candidate(k)
        if found is None:
            continue
        key, wanted = found
        u = units[k]
        block = sections[u.section].blocks[u.block]
        options = [wanted]
        if u.shape == "step":
            # Steps read from step 1 when that fits, and never skip one: a step joining
            # others of its list brings the steps between them, or is left out.
            options.insert(0, wanted | set(range(u.part + 1)))
            have = chosen.get(key, set())
            options = [set(range(min(have | o), max(have | o) + 1)) if have else o for o in options]
            later_step = not chosen and u.part > 0 and not _leans(block.parts()[u.part])
            if later_step and not next_fits(i, key, options[0]):
                # The best part is a later step ("5. Open the verification email ...")
                # and the run from step 1 would leave no room for the next part to be
                # quoted, which often is the answer the steps lead to ("select **Resend
                # verification email**"). The step comes first on its own; the steps
                # before it follow once the other parts are in, if the whole run fits.
                # Not a step that leans on the one before ("If it says **Refunded**").
                options = options[1:]
                deferred = key
            if chosen and not have:
                # A later step of a procedure nothing else is quoted from ("3. Select
                # Request export") comes with the steps before it or not at all. Alone it
                # reads as the next step of whatever is quoted above it, and its room is
                # better spent on what lies next to the parts already chosen. The first
                # part chosen may stand alone: it is the best answer there is.
                options = options[:1]
        for option in options:
            if add(key, option):
                if _alternatives(block):
                    # Bullets and table rows are alternatives side by side ("Look for an
                    # unused wire" / "Add a 24V C-wire adapter"; "United States: Free" /
                    # "Canada, UK, EU: you pay"): once one is quoted, the others close
                    # enough to be quoted at all come before a part of another block,
                    # which at a near tie tends to restate the quoted one, not complete it.
                    later = queue[i + 1 :]
                    siblings = [k2 for k2 in later if (units[k2].section, units[k2].block) == key]
                    queue[i + 1 :] = siblings + [k2 for k2 in later if k2 not in siblings]
                break
    if not chosen:
        return ""
    if deferred in chosen:
        add(deferred, set(range(max(chosen[deferred]) + 1)))  # the whole run to that step, or none
    # The heading says which case the quote is about ("If your account was moved to
    # Free"): what fits beside the best parts keeps room for it, as the intros below do.
    if cost(rendered(lead={block_rank[0][0]})) <= budget:
        heading = {block_rank[0][0]}
    # The rest of the budget goes to the parts next to those quoted, nearest first: the
    # sentence after the one that matched the question's words often holds the detail
    # it asked for ("It also appears in Invoices"), and a list of options reads whole.
    grown = True
    while grown:
        grown = False
        for key in list(block_rank):
            for extra in _neighbours(sections[key[0]].blocks[key[1]], chosen[key]):
                grown = add(key, extra) or grown
        if grown:
            continue
        # Then a whole block next to a quoted one in the same section (a paragraph, or a
        # list with its intro), shown beside it in the article's order. Only whole: the
        # last bullet of a list, or step 3 without steps 1 and 2, says less than nothing.
        for s_i, b_i in list(block_rank):
            blocks = sections[s_i].blocks
            if chosen[(s_i, b_i)] != set(range(len(blocks[b_i].parts()))):
                continue  # the block itself is not quoted whole yet
            for other in (b_i + 1, b_i - 1):
                if not 0 <= other < len(blocks) or (s_i, other) in chosen or blocks[other].kind == "table":
                    continue
                if other < b_i and blocks[other].kind == "paragraph" and _leans(blocks[other].sentences[0]):
                    continue  # it leans on a block further back
                if other > b_i and blocks[other].intro:
                    continue  # an intro without what it introduces
                block_rank.insert(block_rank.index((s_i, b_i)) + (other > b_i), (s_i, other))
                if add((s_i, other), set(range(len(blocks[other].parts())))):
                    grown = True
                    break
                block_rank.remove((s_i, other))
            if grown:
                break
    text = rendered()
    # Context last, while it fits: each list's or table's intro, then the first heading.
    for key in list(block_rank):
        s_i, b_i = key
        blocks = sections[s_i].blocks
        if blocks[key[1]].kind != "paragraph" and b_i > 0 and blocks[b_i - 1].intro:
            intro_key = (s_i, b_i - 1)
            last = len(blocks[b_i - 1].sentences) - 1
            if intro_key in chosen:
                continue
            chosen[intro_key] = {last}
            block_rank.insert(block_rank.index(key), intro_key)
            if cost(rendered(lead=heading)) > budget:
                del chosen[intro_key]
                block_rank.remove(intro_key)
    text = rendered()
    with_heading = rendered(lead={block_rank[0][0]})
    return with_heading if cost(with_heading) <= budget else text


_MARKER = re.compile(r"\[\d{1,3}\]")


def _neighbours(block: Block, have: set[int]) -> list[set[int]]:
    """The parts right after and right before a quoted run of a paragraph or list.

    Numbered steps before the run come all the way from step 1 or not at all.

    Table rows are left out: rows are alternatives side by side ("Canada", "Mexico"), each
    chosen on its own score, where the next sentence or step continues the one quoted.
    """
    if block.kind == "table" or not have:
        return []
    after = max(have) + 1
    out = [{after}] if after < len(block.parts()) else []
    if out and block.kind == "paragraph" and strip_markup(block.sentences[after]).rstrip().endswith(":"):
        out = []  # an intro ("this can cause:") comes only with what it introduces
    start = min(have) - 1
    if block.kind == "paragraph":
        # A sentence before the quote that leans on its own predecessor brings it along,
        # or stays out (its referent would be in another block).
        while start > 0 and _leans(block.sentences[start]):
            start -= 1
        if start >= 0 and _leans(block.sentences[start]):
            return out
    elif start >= 0 and _numbered(block):
        start = 0  # steps before a quoted step come from step 1: "2. Enter your name" opens nothing
    if start >= 0:
        out.append(set(range(start, min(have))))
    return out


def _numbered(block: Block) -> bool:
    """A list of numbered steps: read in order, from step 1."""
    return block.kind == "list" and any(item.marker[0].isdigit() for item in block.items)


def _alternatives(block: Block) -> bool:
    """A bulleted list or a table: parts side by side, where numbered steps follow in order."""
    return block.kind == "table" or (block.kind == "list" and not _numbered(block))


def _leans(sentence: str) -> bool:
    return leans_back(sentence) or _refers_back(sentence)


def _piece(block: Block, keep: set[int] | list[int]) -> str:
    """Chosen parts of one block; table rows as readable lines (no header row to spend on)."""
    keep = sorted(keep)
    if block.kind == "table":
        return "\n".join("- " + row_line(block.header, block.rows[i], block.rows) for i in keep)
    return block.render(keep)


def _render_compact(
    sections: list[_Section],
    chosen: dict[tuple[int, int], set[int]],
    order: list[tuple[int, int]],
    lead: set[int] = frozenset(),
) -> str:
    """Chosen parts per block, blocks in `order`; a citation after each section's last part."""
    pieces: list[tuple[int, str]] = []
    for s_i, b_i in order:
        block = sections[s_i].blocks[b_i]
        keep = sorted(chosen[(s_i, b_i)])
        pieces.append((s_i, _piece(block, keep)))
    out: list[str] = []
    headed: set[int] = set()
    for n, (s_i, text) in enumerate(pieces):
        section = sections[s_i]
        heading = _own_heading(section.passage)
        if s_i in lead and s_i not in headed and heading:
            out.append(f"**{heading}**")
            headed.add(s_i)
        last_of_run = n + 1 == len(pieces) or pieces[n + 1][0] != s_i
        out.append(_cite(text, f"[{section.index + 1}]") if last_of_run else text)
    return "\n\n".join(out)


def _named_section(sections: list[_Section], heading_sim: list[float], first: int) -> int | None:
    """The section of the answer's article whose heading names the question's case, if one does.

    Authors name a section after the case it answers, often in the customer's own words
    ("Tracking says delivered, but you can't find it", "Cancel your paid plan"), while its
    sentences use the article's words: "carrier marked it delivered yesterday but its
    nowhere to be found" matches that heading best of all (0.73), but a sentence of
    "Tracking hasn't moved" outscores the section's own steps. A heading that beats every
    other heading of the article by HEADING_GAP is a second opinion on where the answer
    is; one that merely edges out the others is not (at a margin of 0, 64 of 155 tune
    answers gained a section, many of them noise). Sections split into several chunks
    share a heading and count once; the opening paragraphs have no heading and never
    count. Used above the tight budget only: on SMS the named section's parts took the
    room of parts that answered ("- A wrong password" alone, a recommendation lost), for
    +1 -0 facts on the tune part.
    """
    article = sections[first].passage.article_id
    best: dict[str, tuple[float, int]] = {}
    for i, section in enumerate(sections):
        heading = _own_heading(section.passage)
        if not heading or section.passage.article_id != article:
            continue
        if heading not in best or heading_sim[i] > best[heading][0]:
            best[heading] = (heading_sim[i], i)
    ranked = sorted(best.values(), key=lambda pair: -pair[0])
    if not ranked:
        return None
    top, index = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    if sections[index].passage.section == sections[first].passage.section or top - runner_up < HEADING_GAP:
        return None
    return index


def _top_article_first(
    order: np.ndarray, units: list[_Unit], sections: list[_Section], top_article: str
) -> np.ndarray:
    """The part ranking with the top-ranked article's best part moved to the front.

    The confident decision is about the top-ranked article; an answer that opens with
    another article's part (a sibling's sentence that repeats the question's words, "pw
    reset" quoting the factory-reset steps over *Reset your password*) says something the
    decision never vouched for. Other articles' parts still follow when they score well.
    On the tune part: 6 of 155 confident answers led with another article, 4 of them with
    the labelled one ranked first; with this rule facts 127 -> 129 (REST) and 117 -> 118
    (SMS) (docs/knowledge-quality.md, eighth session).
    """
    lead = next(
        (i for i, k in enumerate(order) if sections[units[int(k)].section].passage.article_id == top_article),
        None,
    )
    if not lead:
        return order
    return np.concatenate([order[lead : lead + 1], order[:lead], order[lead + 1 :]])


_TABLE_GAP = re.compile(r"(?m)^(\|.*\|)[ \t]*\n(?:[ \t]*\n)+(?=[ \t]*\|)")


def _with_table_headers(passages: Sequence[Passage]) -> list[Passage]:
    """Passages whose text goes on with a table another chunk of their section began, with
    that table's header row put back.

    A table too long for one chunk is cut between its rows (`knowledge.chunking`); the
    later chunk starts with bare rows, which read as a paragraph of pipes, and whose cells
    ("Yes", "$169") mean nothing without their column names. The header is added here, to
    the text quoted, not to what was embedded: retrieval is the same either way.
    """
    # An index written before the chunking fix holds such a table's lines as paragraphs
    # (blank lines between rows): read them as one table again, without re-ingesting.
    passages = [replace(p, text=_TABLE_GAP.sub(r"\1\n", p.text)) if "|" in p.text else p for p in passages]
    headers: dict[tuple[str, str], str] = {}
    for p in passages:
        lines = p.text.split("\n")
        for i in range(len(lines) - 1):
            if is_table_start(lines, i):
                headers.setdefault((p.article_id, p.section), f"{lines[i]}\n{lines[i + 1]}")
                break
    out = []
    for p in passages:
        text = p.text.lstrip()
        lines = text.split("\n")
        bare = lines[0].startswith("|") and not is_table_start(lines, 0)
        header = headers.get((p.article_id, p.section))
        out.append(replace(p, text=f"{header}\n{text}") if bare and header else p)
    return out


def extract_answer(question: str, passages: Sequence[Passage], embedder, budget: int | None = None) -> str:
    """Return Markdown with `[n]` markers numbered by the passage order given."""
    budget = budget or budget_for(None)
    passages = _with_table_headers(passages)
    top_score = passages[0].score if passages else 0.0
    top_article = passages[0].article_id if passages else ""
    sections = [
        _Section(i, p, _without_pointer_ahead(p, parse_blocks(p.text)))
        for i, p in enumerate(passages)
        if p.article_id == top_article or p.score >= top_score - PASSAGE_MARGIN
    ]
    sections = [s for s in sections if s.blocks]
    units = [
        u
        for s_i, s in enumerate(sections)
        for b_i, block in enumerate(s.blocks)
        for u in _units(s_i, b_i, block)
    ]
    if not units:
        return ""
    headings = [_own_heading(s.passage) for s in sections]
    q_vec = _embed_question(embedder, question)
    vectors = _embed_cached(embedder, [u.text for u in units] + [h or "-" for h in headings])
    u_vecs, h_vecs = vectors[: len(units)], vectors[len(units) :]
    q_words = content_words(question)
    heading_sim = [float(h_vecs[i] @ q_vec) if headings[i] else 0.0 for i in range(len(sections))]
    scores = np.array(
        [
            float(u_vecs[k] @ q_vec)
            + OVERLAP_WEIGHT * len(q_words & content_words(u.text)) / (len(q_words) or 1)
            + RANK_WEIGHT / (1 + sections[u.section].index)
            + HEADING_WEIGHT * heading_sim[u.section]
            + _shape_bonus(question, u)
            - (INTRO_PENALTY if not headings[u.section] else 0.0)
            for k, u in enumerate(units)
        ]
    )
    order = _top_article_first(np.argsort(-scores, kind="stable"), units, sections, top_article)
    if budget <= TIGHT_BUDGET:
        return _compact(sections, units, scores, order, budget)
    first = units[int(order[0])]
    by_section: dict[int, dict[tuple[int, int], float]] = {}
    for k, u in enumerate(units):
        by_section.setdefault(u.section, {})[(u.block, u.part)] = float(scores[k])
    answer = _quote_section(
        sections[first.section], by_section[first.section], (first.block, first.part), budget
    )
    if not answer:
        return ""
    covered = content_words(answer) | content_words(sections[first.section].passage.title)
    missing = q_words - covered
    for k in order[1:]:
        u = units[int(k)]
        if scores[k] < scores[order[0]] - SECOND_SECTION_FLOOR:
            break
        same = sections[u.section].passage.chunk_id == sections[first.section].passage.chunk_id
        ambiguous = scores[k] >= scores[order[0]] - AMBIGUOUS
        if same or not (ambiguous or missing & content_words(u.text)):
            continue
        room = budget - len(answer) - 2
        second = _quote_section(sections[u.section], by_section[u.section], (u.block, u.part), room)
        if second:
            answer += "\n\n" + second
        break
    named = _named_section(sections, heading_sim, first.section)
    if named is not None and f"**{sections[named].passage.section}**" not in answer:
        # After what is quoted already, never instead of it: the heading is a second
        # opinion, and the best part's section often answers too.
        u = next(units[int(k)] for k in order if units[int(k)].section == named)
        room = budget - len(answer) - 2
        extra = _quote_section(sections[named], by_section[named], (u.block, u.part), room, whole_anchor=True)
        if extra:
            answer += "\n\n" + extra
    return answer
