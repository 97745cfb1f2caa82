"""The sentences of retrieved passages, scored as answers to a question.

A sentence scores by its meaning (its vector against the question's), by the question's words it
holds (weighted by rarity; its heading's and neighbours' words count half), by whether it holds
the kind of answer asked for (a date for "when", a count for "how many"), and, in a conversation,
by whether it reads on from the last answer. The extractive answerer quotes the best of them;
retrieval ranks a first question's passages by their best.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from . import lexical
from .index import Index
from .safety import looks_like_instructions


class Asked(Protocol):
    """A question as scoring needs it (a retrieval.Retrieved, or one part of a compound question)."""

    question: str
    query_vector: np.ndarray
    terms: list[str]


_REFERS_BACK = re.compile(r"(?:it|its|he|his|she|her|they|their|this|these|that|those|such|the\s+\w+\s+(?:was|is|were|are|will|has|had|have))\b", re.IGNORECASE)
_OPENS_WITH_PRONOUN = re.compile(r"(?:it|its|he|his|she|her|they|their|this|these|that|those|such)\b", re.IGNORECASE)
_ASKS_WHY = re.compile(r"^\s*(?:why|for what reason|what (?:was|is|were|are) the reasons?)\b", re.IGNORECASE)
_CONCLUDES = re.compile(r"\b(?:therefore|thus|hence|consequently|as a result|accordingly|for this reason|that is why)\b", re.IGNORECASE)
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|half|third|quarter)\b", re.I)
_DATE = re.compile(rf"\b(?:(?:{_MONTHS})\s+\d{{1,2}}(?:\s*[-–]\s*\d{{1,2}})?|\d{{1,2}}(?:\s*[-–]\s*\d{{1,2}})?\s+(?:{_MONTHS})|(?:1[89]|20)\d\d)\b")
_ORDINAL = re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.I)


def _count(text: str) -> bool:
    """Whether the text holds a count: a number that is not a date or an ordinal ("on February 9-10, 2018, the 3rd" counts nothing)."""
    return bool(_NUMBER.search(_ORDINAL.sub(" ", _DATE.sub(" ", text))))


def leans_on_previous(text: str, question: str) -> bool:
    """Whether a quoted sentence needs the one before it to be understood: it opens with a pronoun
    ("They have conducted two global surveys": who?), or it draws a conclusion ("The agreement will
    therefore be greeted with a yawn") and the question asks why, which the sentence before answers.
    (bench/README.md, "Quotes that lean on the sentence before".)"""
    return bool(_OPENS_WITH_PRONOUN.match(text) or (_ASKS_WHY.match(question) and _CONCLUDES.search(text)))


# What kind of answer a question asks for, and whether a sentence holds one.
_ANSWER_TYPES = [
    (re.compile(r"^\s*(when|what (year|date|month|day))\b", re.I), re.compile(rf"\b(1[89]\d\d|20\d\d|{_MONTHS})\b").search),
    (re.compile(r"^\s*how (much|long|large|big)\b|\bwhat (share|percentage)\b", re.I), _NUMBER.search),
    # "Which event drew more participants?" compares counts.
    (re.compile(r"^\s*how many\b|\bwhat number\b|^\s*which\b.*\b(more|fewer|most|fewest)\s+(?!\w+ous\b)[a-z]+s\b", re.I), _count),
    (re.compile(r"^\s*(who|whom|whose)\b", re.I), re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+").search),
]


# Kinds of answer that only a sentence holding one can give: a question asking for one is refused
# when no passage gives it ("How much did the World Bank pledge?").
_MONEY_QUESTION = re.compile(
    r"\bhow much (money|funding)\b|\bhow much did\b.*\b(cost|pay|paid|earn|raise|spend|pledge|gross|fund|invest|sell for)\b|"
    r"\b(price|revenue|revenues|salary|budget|turnover|profit|valuation)\b|\bin (US |U\.S\. )?(dollars|euros|pounds|yuan)\b",
    re.I,
)
_MONEY = re.compile(
    r"[$€£¥]|\b(USD|EUR|GBP|CNY|RMB|US\$)\b|\b(dollars?|euros?|pounds sterling|yuan|renminbi|yen|francs?|rupees?|ringgit)\b|"
    r"\d\s*(million|billion|trillion|bn)\b",
    re.I,
)
_REQUIRED_KINDS = [("a sum of money", _MONEY_QUESTION, _MONEY.search)]


def missing_kind(question: str, texts: list[str]) -> str | None:
    """The kind of answer the question asks for that none of these texts holds (_REQUIRED_KINDS), or None."""
    return next((kind for kind, asks, holds in _REQUIRED_KINDS if asks.search(question) and not any(holds(t) for t in texts)), None)


# "What is the UNHCR?", "Who was John Brown?": a question that asks what a thing is, not something about it.
_ASKS_WHAT_IS = re.compile(r"^\s*(?:who|what)\s+(?:is|was|are|were)\s+(?:the\s+|an?\s+)?(?P<term>[^?]+?)\s*\??\s*$", re.I)
_ABOUT_IT = re.compile(r"\b(?:about|doing|in|on|at|with|for|to|from|by|between|like|his|her|their|its|it|they|this|that|some|one|most|first|last)\b|['’]", re.I)
# "of" inside a name ("the Treaty of 1875") but not after a common noun ("the population of Malaysia")
_OF_A_COMMON_NOUN = re.compile(r"(?:^|\s)[a-z]+\s+of\b")


def _asked_thing(question: str) -> str | None:
    """The thing a "What is X?" question asks to define, as written ("UNHCR"), or None."""
    m = _ASKS_WHAT_IS.match(question)
    if not m or _ABOUT_IT.search(m["term"]) or _OF_A_COMMON_NOUN.search(m["term"]):
        return None
    return m["term"]


def defined_term(question: str) -> list[str]:
    """The terms of the thing a "What is X?" question asks to define (at most four words), or [].

    "What was his position?" or "What was Bauhaus' legacy?" ask about something, not what it is."""
    thing = _asked_thing(question)
    terms = lexical.tokenize(thing) if thing else []
    return terms if len(terms) <= 4 else []


def defines(text: str, question: str) -> bool:
    """Whether a sentence says what the question's thing is (by its last word): "X is a ...", "X (...", "X, an ...",
    "... Commissioner for Refugees (UNHCR)"."""
    thing = _asked_thing(question)
    if not thing:
        return False
    last = re.escape(thing.split()[-1])
    return bool(re.search(
        rf"\b{last}\w*\)?\s+(?:is|was|are|were)\s+(?:a|an|the|one)\b|\b{last}\w*\s*\(|\b{last}\w*,\s+(?:a|an|the)\b|\w\s+\({last}\)", text, re.I,
    ))


# A follow-up's sentences up to FLOW_WINDOW characters after the last answer gain up to FLOW_NEXT, its passages up to
# FLOW_PASSAGE (retrieval.py) (bench/README.md, "Follow-ups").
FLOW_NEXT, FLOW_WINDOW = 0.1, 800
# Its sentences in the document of the last answer gain SAME_DOCUMENT (retrieval.Retriever._follow decides which documents it is still about).
SAME_DOCUMENT = 0.3


@dataclass
class Candidate:
    n: int  # passage number, 1-based
    position: int  # sentence position in its chunk
    row: int  # the sentence's row in the index's sentence vectors
    start: int
    end: int
    text: str
    kind: str
    dense: float
    lexical: float
    score: float


def score(index: Index, rows: list[int], asked: Asked, said: dict[str, int]) -> list[Candidate]:
    """Every sentence of the chunks at `rows` (passage n is rows[n - 1]) as an answer to `asked`, best first.

    `said`: where the conversation's last answer ends in each document (retrieval.said_ends)."""
    weights = {t: index.idf(t) for t in set(asked.terms)}
    total = sum(weights.values())
    wanted = [holds for question, holds in _ANSWER_TYPES if question.search(asked.question)]
    out, seen = [], set()
    for n, row in enumerate(rows, start=1):
        chunk = index.chunks[row]
        said_up_to = said.get(chunk["doc"])
        # Words of the heading and neighbouring sentences count half: they say what the sentence is about.
        context = set(lexical.tokenize(chunk["index_text"]))
        vectors = index.sentence_vectors[chunk["s0"] : chunk["s0"] + len(chunk["sentences"])]
        dense = vectors @ asked.query_vector if len(vectors) else np.zeros(0)
        for j, (start, end, text, kind) in enumerate(chunk["sentences"]):
            terms = set(lexical.tokenize(text))
            # "This session featured a dialogue moderated by ...": a sentence that refers back is
            # about what the one before it (or, first in its passage, the heading) names, and holds those words as its own.
            if _REFERS_BACK.match(text):
                terms |= set(lexical.tokenize(chunk["sentences"][j - 1][2] if j else chunk["section"] or ""))
            key = " ".join(text.split()).lower()
            if key in seen or looks_like_instructions(text):  # a repeat (overlapping chunks, a text that says it twice), or an injection
                continue
            seen.add(key)
            held = sum(w if t in terms else 0.5 * w if t in context else 0.0 for t, w in weights.items())
            lex = held / total if total else 0.0
            value = 0.55 * float(dense[j]) + 0.45 * lex + 0.02 / n
            if wanted:  # a "when" question is not answered by a sentence without a date
                value = value + 0.05 if all(holds(text) for holds in wanted) else value * 0.8
            if said_up_to is not None:  # the document the conversation is about
                value += SAME_DOCUMENT + _flow(start, said_up_to)
            out.append(Candidate(n, j, chunk["s0"] + j, start, end, text, kind, float(dense[j]), lex, value))
    out.sort(key=lambda c: -c.score)
    return out


def _flow(start: int, said_up_to: int) -> float:
    """A follow-up ("What did she do after that?") is most often answered by the text just after the last answer."""
    distance = start - said_up_to
    return FLOW_NEXT * (1 - distance / FLOW_WINDOW) if 0 <= distance < FLOW_WINDOW else 0.0
