"""The greeting, thanks and hedges around a customer's question, left out of its reading.

Customers in chat rarely type a bare question: "Hi Anna, how do I cancel my plan? Cheers",
"hey team 👋 quick q - refund??", "I was wondering if you ship to Canada, thanks!". Every
social word is a word no article has, so left in, it becomes the question's weakest word for
the decision's reading (`knowledge.reading`) and pulls the sentence vector away from the
articles: wrapped in a greeting or a thank-you, a question the bot answers bare lost its
confident answer about a third of the time (`bench/wrapped_questions.py`,
docs/knowledge-quality.md).

A list of whole wrap phrases only knows the wraps it lists, and customers invent new ones.
This reads the message's shape instead: it is cut at punctuation and emoji into segments,
whole segments at either end made only of social words are left out (and a greeting followed
by a capitalised name, and a short signature after a sign-off), then social openers and hedges
at the very start of what is left and thanks or "please" at its very end. It knows social
words only, never topic words, so a question about a topic keeps every topic word. A message
that is nothing but courtesy ("thanks!", "hi there") is returned as typed: the engine and the
dialogue decide what to do with it.

Pure text, no model: a message without such edges comes back unchanged.
"""

from __future__ import annotations

import re

# Emoji, pictographs and text emoticons: never part of a question, and a natural break.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d]+"
    r"|(?<!\w)(?:[:;=8xX]-?[)(\]\[dDpP/\\|3*]+|<3+|\^\^|\^_\^)(?!\w)"
)
# What separates a greeting or a sign-off from the question: punctuation and dashes.
_BREAK = re.compile(r"[,!?;:\n()…~|]+|\.+(?=\s|$)|\s[-–—]+\s|\s[-–—]+$|^[-–—]+\s")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A name or initials as people sign: "Anna", "O'Brien", "JB", "T.O."
_NAME = re.compile(r"[A-Z][a-zA-Z'.-]*|[A-Z](?:\.?[A-Z]){0,2}\.?")

_GREETINGS = frozenset(
    """hi hii hiii hiya heya hey heyy heyyy hello helo hellooo hallo howdy yo hola gday g'day
    greetings morning mornin afternoon evening evenin dear namaste aloha sup wassup kia ora
    good""".split()
)
# Greetings that are also ordinary words of a question ("good", "morning schedule").
_TOPICAL_GREETINGS = frozenset("good morning mornin afternoon evening evenin dear greetings".split())
# Whom a greeting or thanks is addressed to.
_ADDRESS = frozenset(
    """there team all everyone everybody folks guys gang y'all yall people support sir sirs
    madam ma'am maam mate mates friend friends buddy pal peeps hun babe love luv legend legends
    nimbus again you u x xx""".split()
)
_THANKS = frozenset(
    """thanks thank thanx thx thnx thnks tx ty tysm tyvm ta tia cheers cheerio many appreciated
    appreciate grateful regards kind best warm warmest sincerely yours bye cya later soon talk
    take care god bless""".split()
)
# Everything else a purely social segment may contain ("hope you're doing well", "sorry to
# bother you", "quick question", "thanks so much for your help", "have a nice day").
_FILLER = frozenset(
    """so much very lot lots loads heaps million advance in a an the for your my it it's its
    this that is are am r to of and or but just me i i'm im we ok okay okey kk alright well
    please pls plz plse asap urgent urgently help time patience sorry apologies apology bother
    bothering trouble disturb disturbing if silly dumb stupid question questions q qq quick one
    wrong right place hope hoping you're youre doing fine great good nice lovely wonderful
    day weekend evening night how all x xx xxx xo lol haha hehe lmao omg oh ah um uh hmm
    again also here quickly fast soon possible lmk know let thank have no rush hurry need
    needed today tonight now still waiting wait getting really frustrated annoyed nobody
    anybody anyone someone somebody has replied reply replies response respond answer
    kindly revert at earliest soonest yet convenience third second asking asked""".split()
)
_SOCIAL = _GREETINGS | _ADDRESS | _THANKS | _FILLER
# A segment opening like a question ("is it still ok", "how long") is part of the question
# even when its words are common ones; only courtesy questions ("how are you doing today",
# "anyone there") are social.
_ASKING = frozenset(
    """how what when where why which who whom is are am do does did can could will would should
    may might""".split()
)
_COURTESY_ASKING = frozenset(
    """how are you u r ya doing is it going things today everything all well good there anyone
    anybody someone""".split()
)

# Openers of what is left, by phrase ("i was wondering if ...", "can you tell me ...").
_GREETED = r"(?:\s+(?:" + "|".join(sorted(_ADDRESS, key=len, reverse=True)) + r"))*"
_OPENERS = re.compile(
    r"^(?:"
    + "|".join(
        [
            r"(?:hi+|hiya|heya|hey+|hello+|helo|hallo|howdy|yo|hola|g'?day|greetings|dear)" + _GREETED,
            r"good\s+(?:morning|afternoon|evening|day)" + _GREETED,
            r"(?:a\s+|one\s+)?quick\s+(?:question|one|q)(?:\s+for\s+you)?",
            r"(?:i\s+)?(?:have|got)\s+a\s+(?:quick\s+)?question(?:\s+for\s+you)?",
            r"sorry\s+(?:to\s+(?:bother|trouble|disturb)(?:\s+you)?(?:\s+again)?|for\s+the\s+trouble"
            r"|to\s+be\s+a\s+pain|for\s+my\s+(?:bad\s+|poor\s+)?english"
            r"|if\s+this\s+is\s+a\s+(?:silly|dumb|stupid|daft)\s+(?:one|question))",
            r"sorry",
            r"(?:so|ok|okay|omg|um+|uh+|hmm+|well|anyway)",
            r"(?:i\s+was\s+|i'?m\s+|i\s+am\s+|just\s+)?wondering",
            r"(?:i\s+was\s+|was\s+|i'?m\s+|i\s+am\s+|just\s+)?hoping\s+(?:you|someone|somebody|anyone)\s+"
            r"(?:could|can|would|might)\s+(?:please\s+)?(?:tell\s+me|let\s+me\s+know|explain|help(?:\s+me)?(?:\s+with)?)",
            r"(?:you|someone|somebody|anyone|anybody)\s+(?:could|can|would)\s+(?:please\s+)?(?:explain|tell\s+me)",
            r"(?:can|could)\s+(?:you|u|someone|somebody|anyone|anybody)\s+(?:please\s+)?"
            r"(?:help\s+me\s+(?:understand|with|figure\s+out)|explain)",
            r"(?:i\s+)?(?:just\s+)?want(?:ed)?\s+to\s+(?:check|ask|know)",
            r"(?:i'?d|i\s+would)\s+(?:be\s+grateful|appreciate\s+it)\s+if\s+(?:you|someone)\s+could\s+"
            r"(?:advise(?:\s+on)?|tell\s+me|let\s+me\s+know|explain)",
            r"(?:can|could|would|will)\s+(?:you|u|someone|somebody|anyone|anybody)\s+"
            r"(?:please\s+|pls\s+|kindly\s+)?(?:tell|let|show)\s+me(?:\s+know)?",
            r"would\s+you\s+mind\s+(?:telling\s+me|letting\s+me\s+know)",
            r"do\s+(?:you|u)\s+(?:happen\s+to\s+)?know",
            r"(?:i'?d|i\s+would|id)\s+(?:like|love)\s+to\s+know",
            r"(?:please|pls|plz|kindly)(?:\s+(?:tell|let)\s+me(?:\s+know)?)?",
            r"any\s+idea",
        ]
    )
    + r")(?:\s+(?:if|whether))?(?:\s+(?:but|and))?\b[\s,.!:;-]*",
    re.IGNORECASE,
)
_CLOSERS = re.compile(
    r"[\s,.!:;-]*\b(?:"
    + "|".join(
        [
            r"(?:thanks|thank\s+(?:you|u)|thanx|thx|thnx|ty|tysm|tyvm|ta|tia|cheers|many\s+thanks"
            r"|much\s+appreciated|appreciate\s+it|appreciate\s+the\s+help)"
            r"(?:\s+(?:so\s+much|very\s+much|a\s+lot|loads|heaps|a\s+million|in\s+advance))*" + _GREETED,
            r"(?:please|pls|plz|asap|urgently|urgent|lol|haha|x+)",
        ]
    )
    + r")$",
    re.IGNORECASE,
)
# Requests for a reply, only after a break: "when will you get back to me" asks itself.
_AFTER_BREAK = re.compile(
    r"(?<=[,.!?;:-])\s*(?:(?:i\s+)?would\s+appreciate\s+(?:a\s+|an\s+)?(?:quick\s+|fast\s+|prompt\s+)?"
    r"(?:reply|response|answer)|(?:please\s+|pls\s+|kindly\s+)?get\s+back\s+to\s+me(?:\s+(?:asap|soon|quickly))?)"
    r"[\s.!]*$",
    re.IGNORECASE,
)


def without_pleasantries(message: str) -> str:
    """The message without the greeting, thanks and hedges around its question.

    "Hi Anna, sorry to bother you - how do I cancel my plan? Cheers, Tom" is read as "how do
    I cancel my plan?". A message with nothing but courtesy comes back as typed.
    """
    text = _EMOJI.sub(" . ", message.replace("’", "'"))
    spans = _segments(text)
    first, last = 0, len(spans)
    while first < last - 1 and _social_opening(text, spans, first):
        first += 1
    while last - 1 > first and _social_closing(text, spans, first, last):
        last -= 1
    if first >= last:
        return message.strip()
    start, end = spans[first][0], spans[last - 1][1]
    while end < len(text) and text[end] in "?？":
        end += 1
    core = text[start:end].strip()
    for _ in range(4):  # openers come in short runs: "hi team, so i was wondering if ..."
        trimmed = _CLOSERS.sub("", _AFTER_BREAK.sub("", _OPENERS.sub("", core))).strip(" ,.;:-")
        if trimmed == core:
            break
        core = trimmed
    if not _WORD.search(core.lower()):
        return message.strip()
    return message.strip() if core == text.strip() else core


def _segments(text: str) -> list[tuple[int, int]]:
    """Where each stretch of text between breaks starts and ends."""
    spans: list[tuple[int, int]] = []
    position = 0
    for found in _BREAK.finditer(text):
        if text[position : found.start()].strip():
            spans.append((position, found.start()))
        position = found.end()
    if text[position:].strip():
        spans.append((position, len(text)))
    return spans


def _words(text: str, span: tuple[int, int]) -> list[str]:
    return _WORD.findall(text[span[0] : span[1]].lower())


def _social(words: list[str]) -> bool:
    if words and words[0] in _ASKING:
        return all(word in _COURTESY_ASKING for word in words)
    return bool(words) and all(word in _SOCIAL for word in words)


def _names(text: str, span: tuple[int, int], skip: int = 0) -> bool:
    """Whether the segment's words (after the first `skip`) are a name or initials as
    people sign: "Anna", "Priya S", "JB"."""
    raw = text[span[0] : span[1]].split()[skip:]
    return 0 < len(raw) <= 2 and all(_NAME.fullmatch(word) for word in raw)


def _social_opening(text: str, spans: list[tuple[int, int]], index: int) -> bool:
    words = _words(text, spans[index])
    if _social(words):
        return True
    # "Hi Anna," / "Morning Priya S," / "hi anna,": a greeting and whom it greets. A word that
    # is also a topic's ("good price,", "morning schedule,") greets only a capitalised name.
    if not words or words[0] not in _GREETINGS:
        return False
    return _names(text, spans[index], skip=1) or (len(words) == 2 and words[0] not in _TOPICAL_GREETINGS)


def _social_closing(text: str, spans: list[tuple[int, int]], first: int, last: int) -> bool:
    words = _words(text, spans[last - 1])
    if _social(words):
        return True
    # "thanks, Tom" / "Regards - JB": a signature right after a social segment, or after
    # a dash or a line break ("how long do refunds take? - Tom").
    if last - 2 < first or not _names(text, spans[last - 1]):
        return False
    between = text[spans[last - 2][1] : spans[last - 1][0]]
    return _social(_words(text, spans[last - 2])) or any(mark in between for mark in "-–—\n")
