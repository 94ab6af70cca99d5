"""Skip the deep copies Rasa makes for debug log lines when debug logging is off.

Rasa 3.6's message processor and its memoization and rule policies pass
`copy.deepcopy(...)` of the dialogue states and events to `structlogger.debug(...)`.
Python builds the copy before the logger decides to drop the line, so every prediction
paid for a copy of the conversation's states that nobody read: about 0.7 ms of CPU per
turn on the Rasa server's event loop for a ten-turn conversation, growing with its
length (cProfile of the processor's parse and predictions). In these three modules
`copy.deepcopy` appears only as such a log argument, so each module gets a `copy` whose
`deepcopy` copies only while Rasa's logger is at DEBUG (`rasa run --debug`), where the
lines are written exactly as before.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from rasa.core import processor
from rasa.core.policies import memoization, rule_policy

_rasa_log = logging.getLogger("rasa")


class _CopyForDebugLogs:
    @staticmethod
    def deepcopy(value: Any, memo: dict | None = None) -> Any:
        if _rasa_log.isEnabledFor(logging.DEBUG):
            return copy.deepcopy(value, memo)
        return value


MODULES = (processor, memoization, rule_policy)


def install() -> None:
    for module in MODULES:
        module.copy = _CopyForDebugLogs
