"""Checking an LLM's answer against the evidence it was shown.

Markers that point at no passage are removed and reported; every answer sentence is scored for
support against the passages it cites (word containment and embedding similarity, offline);
sentences without support are flagged, and an answer with no valid citation is not grounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import lexical, names
from .chunking import sentence_spans
from .embeddings import Embedder
from .prompts import Evidence

MARKER = re.compile(r"\[(?:(?:passage|source)\s*)?(\d+(?:\s*[,;]\s*\d+)*)\]", re.IGNORECASE)
# A sentence counts as supported when most of its words are in the cited passages, or when it
# says much the same thing in other words.
MIN_CONTAINMENT = 0.6
MIN_SIMILARITY = 0.62
REFUSAL = re.compile(
    r"\b(do(es)?\s+not|don't|doesn't|cannot|can't|unable to)\s+(contain|provide|mention|answer|include|say|state|specify|find|give)|"
    r"\b(not\s+(stated|mentioned|specified|provided|given|found))\b|\bno\s+(information|mention|answer)\b|"
    r"\bcollection does not answer\b",
    re.IGNORECASE,
)


@dataclass
class Checked:
    text: str
    spans: dict[int, list[tuple[int, int]]]
    unsupported: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refused: bool = False
    grounded: bool = True


def check(
    answer: str, evidence: list[Evidence], sentence_vectors: np.ndarray, embedder: Embedder,
    known: Callable[[str], bool] = lambda word: True, question: str = "",
) -> Checked:
    """`known` tells whether a (stemmed) word occurs anywhere in the collection; a sentence using a
    word that is in neither its passages, the question, nor the collection is not supported."""
    shown = {e.n: e for e in evidence}
    asked = set(lexical.tokenize(question))
    warnings: list[str] = []

    def keep_valid(m: re.Match) -> str:
        ns = [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))]
        valid = [n for n in ns if n in shown]
        for n in ns:
            if n not in shown:
                warnings.append(f"removed citation [{n}]: no passage {n} was given to the model")
        return "".join(f"[{n}]" for n in dict.fromkeys(valid))

    text = MARKER.sub(keep_valid, answer.strip())
    # "sentence. [1]" -> "sentence [1]." so a marker stays with the sentence it follows
    text = re.sub(r"\s*([.!?])((?:\s*\[\d+\])+)", lambda m: " " + "".join(m.group(2).split()) + m.group(1), text)
    text = re.sub(r"[ \t]+\n", "\n", re.sub(r"[ \t]{2,}", " ", text)).strip()
    text = re.sub(r"^(\[\d+\]\s*)+[.:]\s*", "", text)  # "[1]. Malaysia ..." -> "Malaysia ..."

    sentences, cited, inherited, bodies = _split(text)
    refused = bool(REFUSAL.search(text)) and (not any(cited) or len(lexical.words(text)) < 12)
    if refused:
        return Checked(text, {}, [], warnings, refused=True, grounded=False)

    vectors = embedder.encode(bodies) if bodies else np.zeros((0, 0))
    spans: dict[int, list[tuple[int, int]]] = {}
    unsupported: list[str] = []
    attributed: dict[int, int] = {}  # sentence index -> passage the check found for it
    corrected = 0
    for i, body in enumerate(bodies):
        words = set(lexical.tokenize(body))
        if not words:
            continue
        ns = [n for n in inherited[i] if n in shown]
        pool = [s for n in ns for s in shown[n].sentences]
        sims = sentence_vectors[[s[3] for s in pool]] @ vectors[i] if pool else np.zeros(0)
        if not pool or not _supported(words, pool, sims) or _foreign(words, pool, asked, known) or _stray(body, [shown[n] for n in ns], shown, question):
            # Small models forget markers or give the wrong number: cite the shown passage that
            # supports the sentence, if one does; otherwise the sentence stays unsupported.
            n = _best_support(words, vectors[i], shown, sentence_vectors)
            if n is None or _foreign(words, shown[n].sentences, asked, known) or _stray(body, [shown[n]], shown, question):
                unsupported.append(body)
                continue  # a citation is evidence only for what it supports
            corrected += bool(cited[i])
            ns, attributed[i] = [n], n
            pool = shown[n].sentences
            sims = sentence_vectors[[s[3] for s in pool]] @ vectors[i]
        for n in ns:
            own = [j for j, s in enumerate(pool) if s in shown[n].sentences]
            best = pool[max(own, key=lambda j: sims[j])]
            spans.setdefault(n, []).append((best[0], best[1]))
    if attributed:
        text = _add_markers(text, sentences, attributed)
        if len(attributed) > corrected:
            warnings.append(f"the model cited no passage for {len(attributed) - corrected} sentence(s); the support check added the citation")
        if corrected:
            warnings.append(f"the model cited a passage that does not support {corrected} sentence(s); the support check corrected the citation")
    grounded = bool(spans)
    if not grounded:
        warnings.append("the answer cites no passage: it is not grounded in the collection")
    return Checked(text, spans, unsupported, warnings, refused=False, grounded=grounded)


def _supported(words: set[str], pool: list, sims: np.ndarray) -> bool:
    return _strength(words, pool, sims) is not None


def _strength(words: set[str], pool: list, sims: np.ndarray) -> float | None:
    """How well the pool supports the sentence (the share of its words the pool holds plus its best
    similarity), or None when it does not."""
    containment, similarity = len(words & _held(pool)) / len(words), float(sims.max())
    return containment + similarity if containment >= MIN_CONTAINMENT or similarity >= MIN_SIMILARITY else None


def _held(pool: list) -> set[str]:
    return set().union(*(lexical.tokenize(s[2]) for s in pool))


_DIGITS = re.compile(r"\d(?:[\d,.]*\d)?")


def _stray_numbers(body: str, pool: list, question: str) -> bool:
    """Whether the sentence holds a number (a date, a count) that neither its passages nor the question hold:
    "the WTO statement was issued in December 2017 and concluded in November 2018 [1]" joins another passage's date to it."""
    held = set(_DIGITS.findall(" ".join(s[2] for s in pool) + " " + question))
    return any(x not in held for x in _DIGITS.findall(body))


def _stray(body: str, passages: list[Evidence], shown: dict[int, Evidence], question: str) -> bool:
    """Whether the sentence holds a number or a name that the passages it rests on do not support."""
    pool = [s for e in passages for s in e.sentences]
    return _stray_numbers(body, pool, question) or _stray_names(body, passages, shown, question)


def _stray_names(body: str, passages: list[Evidence], shown: dict[int, Evidence], question: str) -> bool:
    """Whether the sentence joins a name of the question to what a passage says of something else:
    "Malaysia's population is over a fifth of the population in Africa [1]", from a passage about Africa.

    The question's names must be in the passages the sentence rests on (their sentences and
    headings); other names in any passage shown ("X starred in A, B and C" gathers them from three)."""
    asked = set(lexical.tokenize(" ".join(names.in_question(question))))
    named = names.in_question(body)
    first = names.first_word(body)
    if set(lexical.tokenize(first)) & asked:  # a sentence's first word is a name only if the question says it is
        named.append(first)
    if not named:
        return False

    def terms(evidence) -> set[str]:
        return set(lexical.tokenize(" ".join([*(s[2] for e in evidence for s in e.sentences), *(e.section for e in evidence)])))

    own, anywhere = terms(passages), terms(shown.values())
    return not all(names.known_form(name, (own if set(lexical.tokenize(name)) & asked else anywhere).__contains__) for name in named)


def _foreign(words: set[str], pool: list, asked: set[str], known: Callable[[str], bool]) -> bool:
    """Whether the sentence uses a word from nowhere: not its passages, not the question, not the collection."""
    held = _held(pool)
    return any(w not in held and w not in asked and not known(w) for w in words)


def _best_support(words: set[str], vector: np.ndarray, shown: dict[int, Evidence], sentence_vectors: np.ndarray) -> int | None:
    """The shown passage that supports the sentence best, by words held and similarity together (`_strength`).
    Similarity alone picks a passage on the same topic over the one the sentence copies word for word
    (and then the copied date is "stray" in it)."""
    best, best_score = None, -1.0
    for n, ev in shown.items():
        score = _strength(words, ev.sentences, sentence_vectors[[s[3] for s in ev.sentences]] @ vector)
        if score is not None and score > best_score:
            best, best_score = n, score
    return best


def _add_markers(text: str, sentences: list[tuple[int, int]], attributed: dict[int, int]) -> str:
    """Give each attributed sentence the marker [n] (replacing any it had), from the end backwards."""
    for i in sorted(attributed, reverse=True):
        a, b = sentences[i]
        sentence = re.sub(r"\s*\[\d+\]\s*", " ", text[a:b]).strip()
        end = len(sentence) - 1 if sentence[-1] in ".!?:;" else len(sentence)
        text = f"{text[:a]}{sentence[:end].rstrip()} [{attributed[i]}]{sentence[end:]}{text[b:]}"
    return text


def _split(text: str) -> tuple[list[tuple[int, int]], list[list[int]], list[list[int]], list[str]]:
    """An answer's sentences: spans, their own [n] markers, the markers they rest on, and their text.

    A sentence with no marker of its own (a list item, say) rests on its nearest cited neighbour,
    the next one first.
    """
    sentences = answer_spans(text)
    cited = [[int(n) for m in MARKER.finditer(text, a, b) for n in re.split(r"\s*[,;]\s*", m.group(1))] for a, b in sentences]
    inherited = [
        ns or next((cited[j] for j in range(i + 1, len(cited)) if cited[j]), []) or next((cited[j] for j in range(i - 1, -1, -1) if cited[j]), [])
        for i, ns in enumerate(cited)
    ]
    bodies = [MARKER.sub("", text[a:b]).strip() for a, b in sentences]
    return sentences, cited, inherited, bodies


_LEADING_MARKERS = re.compile(rf"\s*(?:{MARKER.pattern}\s*)+", re.IGNORECASE)


def answer_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence of an answer, a list line being a sentence of its own.

    Markers after a sentence's full stop ("... e-commerce. [1] Ambassador ...") are that sentence's, not the next one's."""
    spans, pos = [], 0
    for line in text.split("\n"):
        own: list[tuple[int, int]] = []
        for a, b in sentence_spans(text, pos, pos + len(line)):
            lead = _LEADING_MARKERS.match(text, a, b)
            if lead and own:
                own[-1] = (own[-1][0], a + len(lead.group().rstrip()))
                a = lead.end()
            if text[a:b].strip():
                own.append((a, b))
        spans += own
        pos += len(line) + 1
    return spans


def citation_scores(answer: str, evidence: list[Evidence], sentence_vectors: np.ndarray, embedder: Embedder) -> tuple[float, float, int]:
    """ALCE-style (recall, precision, citations) of an answer against the passages it cites.

    Recall: the share of answer sentences that their cited passages support. Precision: the share
    of (sentence, citation) pairs where that passage alone supports the sentence.
    """
    shown = {e.n: e for e in evidence}
    _, _, cited, bodies = _split(answer)
    vectors = embedder.encode(bodies) if bodies else np.zeros((0, 0))
    supported = total = precise = pairs = 0
    for i, body in enumerate(bodies):
        words = set(lexical.tokenize(body))
        if not words:
            continue
        total += 1
        ns = [n for n in dict.fromkeys(cited[i]) if n in shown]
        pool = [s for n in ns for s in shown[n].sentences]
        if pool and _supported(words, pool, sentence_vectors[[s[3] for s in pool]] @ vectors[i]):
            supported += 1
        for n in ns:
            pairs += 1
            own = shown[n].sentences
            precise += _supported(words, own, sentence_vectors[[s[3] for s in own]] @ vectors[i])
    return (supported / total if total else 0.0), (precise / pairs if pairs else 0.0), pairs
