"""The parts of a compound question, each answered by its own sentence.

"When was the WTO statement issued, and when was the ASEAN agreement concluded?" asks two
things that two documents answer; scored as one question, the sentence answering the first half
crowds out the second. Only plain shapes are split, so a question that merely holds "and" ("What
did the EIF and Germany pledge?") stays whole:
- "..., and WH ...?" (WH: what, when, where, which, who, how, why);
- "... at A and at B?" (any repeated preposition, "both" allowed before the first);
- "...: A or B?" (a choice between two named things).
"""

from __future__ import annotations

import re

_WH = r"(?:what|when|where|which|who|whom|whose|how|why)"
_AND_WH = re.compile(rf",?\s+and\s+(?={_WH}\b)", re.I)
_PREPOSITIONS = r"(?:at|in|on|for|from|during|about|with|by|to|of)"
_TWO_PLACES = re.compile(rf"^(?P<head>.*?)\b(?:both\s+)?(?P<prep>{_PREPOSITIONS})\s+(?P<a>.+?),?\s+and\s+(?P=prep)\s+(?P<b>[^,?]+)(?P<tail>.*)$", re.I)
_CHOICE = re.compile(r"^(?P<head>[^:]+):\s*(?P<a>.+?)\s+or\s+(?P<b>[^?]+)\??$", re.I)


def parts(question: str) -> list[str]:
    """The sub-questions of a compound question, in order; [] when it asks one thing."""
    pieces: list[str] = []
    for piece in _AND_WH.split(question):
        # "When and where was it held?", "When was it held, and where?" ask one thing
        if pieces and (len(pieces[-1].split()) < 3 or len(piece.split()) < 3):
            pieces[-1] += " and " + piece
        else:
            pieces.append(piece)
    out = [p for piece in pieces for p in _places(piece.strip())]
    return [_ask(p) for p in out] if len(out) > 1 else []


def _places(question: str) -> list[str]:
    if m := _TWO_PLACES.match(question):
        tail = m["tail"].strip()
        return [f"{m['head']}{m['prep']} {m['a']}{tail}", f"{m['head']}{m['prep']} {m['b']}{tail}"]
    if m := _CHOICE.match(question):
        return [f"{m['head']}: {m['a']}", f"{m['head']}: {m['b']}"]
    return [question]


def _ask(text: str) -> str:
    text = text.strip().rstrip("?,;").strip()
    return text[0].upper() + text[1:] + "?"
