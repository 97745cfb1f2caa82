"""Whether a model's short answer may stand in front of the quoted sentences, and how the two are joined.

The answer a user gets from an LLM backend is the model's direct answer, checked, followed by the
quoted sentences it rests on. The quotes are chosen before the model writes, so the answer always
holds at least what the extractive answer holds; the model's text only adds to it, and it is
dropped (the user gets the quotes alone, with the reason) when it fails any check below.
"""

from __future__ import annotations

import re

from .. import lexical
from ..citations import MARKER, Checked, answer_spans


def sentences_of(text: str) -> list[str]:
    """The sentences and list lines of a text, markers removed, normalised for comparison."""
    bodies = (" ".join(MARKER.sub("", text[a:b]).split()).strip(" .;:").lower() for a, b in answer_spans(text))
    return [b for b in bodies if b]


MAX_SENTENCES = 2  # the model's answer is short: the quotes under it carry the detail


def cut(text: str, n: int = MAX_SENTENCES) -> str | None:
    """The first n sentences (or lines) of the text once it has begun another, else None (keep writing)."""
    spans = [(a, b) for a, b in answer_spans(text) if MARKER.sub("", text[a:b]).strip(" .;:[]")]
    if len(spans) <= n:
        return None
    return text[: spans[n - 1][1]].rstrip()


def repeats(text: str) -> bool:
    """Whether a sentence or line occurs twice: small models loop until the token limit."""
    seen = sentences_of(text)
    return len(seen) != len(set(seen))


# Words that name what was asked for without giving it: "the number of members", "the reason".
_ASKED_FOR = frozenset(lexical.tokenize("number amount total count name names reason reasons way ways type kind year date time place people thing things part role"))


def _beyond(answer: str, question: str) -> set[str]:
    """The answer's words that the question does not hold (markers left out)."""
    return set(lexical.tokenize(MARKER.sub("", answer))) - set(lexical.tokenize(question))


def informative(answer: str, question: str, support_words: set[str]) -> bool:
    """Whether the answer says something the question did not: a word of its supporting sentences that the question lacks.

    "The council funded the port [1]" for "How did the council fund the port?" adds nothing, and
    neither does a paraphrase whose new words ("paid") are not in the sentences it rests on."""
    new = _beyond(answer, question) - _ASKED_FOR
    return bool(new & support_words) or bool(re.search(r"\d", MARKER.sub("", answer)) and not re.search(r"\d", question))


def echoes(answer: str, question: str, previous: str, share: float = 0.8) -> bool:
    """Whether the answer's words, less the question's, are mostly the last answer's: it answers the last question again.

    Seen on QuAC: "Did he have any special interests as a child?" answered "He has an elder brother, Roger, and a
    younger sister, Joanna.", the last answer word for word."""
    words = _beyond(answer, question)
    said = set(lexical.tokenize(MARKER.sub("", previous)))
    return bool(words and said) and len(words & said) / len(words) >= share


def rejection(checked: Checked, raw: str, question: str, support_words: set[str], previous: str = "") -> str | None:
    """Why the model's answer must not be shown, or None when it may (`previous`: the conversation's last answer)."""
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
    if echoes(checked.text, question, previous):  # False outside a conversation (no last answer)
        return "the model's answer repeated the last answer"
    return None


def copied(sentence: str, quotes: str, overlap: float = 0.8) -> bool:
    """Whether a sentence of the model's answer is one of the quoted sentences again, nearly word for word."""
    words = set(lexical.tokenize(sentence))
    for quote in sentences_of(quotes):
        other = set(lexical.tokenize(quote))
        if words and other and len(words & other) / len(words | other) >= overlap:
            return True
    return False


def join(direct: str, quotes: str) -> str:
    """The model's answer, less the sentences the quotes say anyway and those without a word, then the quotes;
    the quotes alone if nothing is left."""
    own = [(direct[a:b], MARKER.sub("", direct[a:b])) for a, b in answer_spans(direct)]
    # A fragment that is left when a copy is cut ("He [1].", ".") says nothing either.
    kept = [sentence for sentence, body in own if lexical.tokenize(body) and not copied(body, quotes)]
    text = " ".join(kept).strip() if len(kept) < len(own) else direct.strip()
    return f"{text}\n\n{quotes.strip()}" if text else quotes.strip()
