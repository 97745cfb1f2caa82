"""Whether a model's short answer may stand in front of the quoted sentences, and how the two are joined.

The answer a user gets from an LLM backend is the model's direct answer, checked, followed by the
quoted sentences it rests on. The quotes are chosen before the model writes, so the answer always
holds at least what the extractive answer holds; the model's text only adds to it, and it is
dropped (the user gets the quotes alone, with the reason) when it fails any check below.
"""

from __future__ import annotations

import re

from .. import lexical
from ..citations import MARKER, Checked
from ..chunking import sentence_spans


def sentences_of(text: str) -> list[str]:
    """The sentences and list lines of a text, markers removed, normalised for comparison."""
    out = []
    for line in text.split("\n"):
        for a, b in sentence_spans(line):
            body = " ".join(MARKER.sub("", line[a:b]).split()).strip(" .;:").lower()
            if body:
                out.append(body)
    return out


def repeats(text: str) -> bool:
    """Whether a sentence or line occurs twice: small models loop until the token limit."""
    seen = sentences_of(text)
    return len(seen) != len(set(seen))


# Words that name what was asked for without giving it: "the number of members", "the reason".
_ASKED_FOR = frozenset(lexical.tokenize("number amount total count name names reason reasons way ways type kind year date time place people thing things part role"))


def informative(answer: str, question: str, support_words: set[str]) -> bool:
    """Whether the answer says something the question did not: a word of its supporting sentences that the question lacks.

    "The council funded the port [1]" for "How did the council fund the port?" adds nothing, and
    neither does a paraphrase whose new words ("paid") are not in the sentences it rests on."""
    new = set(lexical.tokenize(MARKER.sub("", answer))) - set(lexical.tokenize(question)) - _ASKED_FOR
    return bool(new & support_words) or bool(re.search(r"\d", MARKER.sub("", answer)) and not re.search(r"\d", question))


def rejection(checked: Checked, raw: str, question: str, support_words: set[str]) -> str | None:
    """Why the model's answer must not be shown, or None when it may."""
    if checked.refused:
        return "the model found no answer in the passages"
    if repeats(raw):
        return "the model repeated itself"
    if not checked.spans:
        return "no passage supports the model's answer"
    if checked.unsupported:
        return f"a sentence of the model's answer is not supported by the passages (“{checked.unsupported[0]}”)"
    if not informative(checked.text, question, support_words):
        return "the model's answer only restated the question"
    return None


def join(direct: str, quotes: str) -> str:
    """The model's answer, then the quotes it does not already say word for word."""
    said = set(sentences_of(direct))
    kept = [line for line in quotes.split("\n") if not (set(sentences_of(line)) and set(sentences_of(line)) <= said)]
    rest = "\n".join(kept).strip()
    return f"{direct.strip()}\n\n{rest}" if rest else direct.strip()
