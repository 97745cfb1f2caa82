"""The extractive answerer: no LLM, it quotes the retrieved sentences that answer the question.

It abstains when the evidence is weak, and when the question names something (a proper noun or an
acronym) that no retrieved passage mentions: "the Federal Reserve" is not "FED".
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import numpy as np

from .. import lexical, names
from ..safety import looks_like_instructions
from ..index import Index
from ..prompts import Prompts
from ..retrieval import FLOW_WINDOW, Part, Retrieved
from . import Draft

_REFERS_BACK = re.compile(r"(?:it|its|he|his|she|her|they|their|this|these|that|those|such|the\s+\w+\s+(?:was|is|were|are|will|has|had|have))\b", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z0-9][\w'’-]*")
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|half|third|quarter)\b", re.I)
_DATE = re.compile(rf"\b(?:(?:{_MONTHS})\s+\d{{1,2}}(?:\s*[-–]\s*\d{{1,2}})?|\d{{1,2}}(?:\s*[-–]\s*\d{{1,2}})?\s+(?:{_MONTHS})|(?:1[89]|20)\d\d)\b")


_ORDINAL = re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.I)


def _count(text: str) -> bool:
    """Whether the text holds a count: a number that is not a date or an ordinal ("on February 9-10, 2018, the 3rd" counts nothing)."""
    return bool(_NUMBER.search(_ORDINAL.sub(" ", _DATE.sub(" ", text))))


# A question for a sum of money is refused when no passage gives one ("How much did the World Bank pledge?").
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

# What kind of answer a question asks for, and whether a sentence holds one.
_ANSWER_TYPES = [
    (re.compile(r"^\s*(when|what (year|date|month|day))\b", re.I), re.compile(rf"\b(1[89]\d\d|20\d\d|{_MONTHS})\b").search),
    (re.compile(r"^\s*how (much|long|large|big)\b|\bwhat (share|percentage)\b", re.I), _NUMBER.search),
    # "Which event drew more participants?" compares counts.
    (re.compile(r"^\s*how many\b|\bwhat number\b|^\s*which\b.*\b(more|fewer|most|fewest)\s+(?!\w+ous\b)[a-z]+s\b", re.I), _count),
    (re.compile(r"^\s*(who|whom|whose)\b", re.I), re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+").search),
]


# A follow-up's sentences up to FLOW_WINDOW characters after the last answer gain up to FLOW_NEXT (bench/README.md, "Follow-ups").
FLOW_NEXT = 0.1


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


class Extractive:
    name = "extractive"

    def __init__(self, index: Index, prompts: Prompts, max_sentences: int = 3, min_score: float = 0.33, keep_ratio: float = 0.85):
        self.index = index
        self.prompts = prompts
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.keep_ratio = keep_ratio

    def run(self, retrieved: Retrieved, style: str = ""):
        candidates = self.score_sentences(retrieved)
        reason = self.refusal_reason(retrieved, candidates)
        draft = self.refuse(reason) if reason else self.answer(retrieved, candidates)
        draft.warnings += self.injection_warnings(retrieved)
        if style:
            draft.warnings.append("the style instructions were not applied: extractive answers quote the documents as written")
        yield draft.text
        yield draft

    def injection_warnings(self, retrieved: Retrieved) -> list[str]:
        flagged = [
            self.index.chunks[h.row]["id"] for h in retrieved.hits
            if any(looks_like_instructions(s[2]) for s in self.index.chunks[h.row]["sentences"])
        ]
        return [f"passage {', '.join(flagged)} holds text that reads like instructions to an AI; that text was not used"] if flagged else []

    def answer(self, retrieved: Retrieved, candidates: list[Candidate]) -> Draft:
        return self.compose(self.choose(candidates, retrieved))

    def refusal_reason(self, retrieved: Retrieved, candidates: list[Candidate]) -> str | None:
        """Why the evidence is too weak to answer from, or None when it is not."""
        if not retrieved.hits:
            return "nothing in it matches the question"
        unknown = self.unmentioned_names(retrieved)
        if unknown:
            return f"no document in it mentions {', '.join(unknown)}"
        if not candidates or candidates[0].score < self.min_score:
            return "the closest passages do not address it"
        if _MONEY_QUESTION.search(retrieved.question) and not any(_MONEY.search(c.text) for c in candidates if c.score >= self.min_score):
            return "it asks for a sum of money and no passage found gives one"
        return None

    def refuse(self, reason: str = "") -> Draft:
        return Draft(text=self.prompts.refusal(reason), abstained=True, grounded=False)

    def unmentioned_names(self, retrieved: Retrieved) -> list[str]:
        """Names in the question (capitalised words after the first, acronyms anywhere) that no document mentions.

        A name counts as mentioned when the collection holds a word sharing all but its last
        three letters (at least five): "Australian" is mentioned by "Australia"; another form of
        a place name ("French": "France"); or a spelling a letter away ("Mohammad": "Mohammed").
        """
        words = _NAME.findall(retrieved.question)
        names = [
            w for i, w in enumerate(words)
            if len(w) > 1 and ((i > 0 and w[0].isupper()) or sum(ch.isupper() for ch in w) >= 2)
        ]
        return [w for w in dict.fromkeys(names) if not all(self._mentioned(t) for t in lexical.words(w))]

    def _mentioned(self, word: str) -> bool:
        if all(self.index.knows(t) for t in lexical.tokenize(word)):
            return True
        if any(all(self.index.knows(t) for t in lexical.tokenize(v)) for v in names.variants(word)):
            return True  # "French" is mentioned by "France"
        stem = word[: max(5, len(word) - 3)]
        at = bisect.bisect_left(self.index.vocabulary, stem)  # the sorted vocabulary: words with this prefix start here
        if len(word) >= 5 and at < len(self.index.vocabulary) and self.index.vocabulary[at].startswith(stem):
            return True
        return names.near_spelling(word, self.index.vocabulary)

    def score_sentences(self, retrieved: Retrieved, part: Part | None = None) -> list[Candidate]:
        """Every retrieved sentence, scored by meaning, by the question's (or `part`'s) words it holds, and by answer type."""
        asked = part or retrieved
        weights = {t: self.index.idf(t) for t in set(asked.terms)}
        total = sum(weights.values())
        wanted = [holds for question, holds in _ANSWER_TYPES if question.search(asked.question)]
        out, seen = [], set()
        for n, hit in enumerate(retrieved.hits, start=1):
            chunk = self.index.chunks[hit.row]
            said_up_to = retrieved.said.get(chunk["doc"])
            # Words of the heading and neighbouring sentences count half: they say what the sentence is about.
            context = set(lexical.tokenize(chunk["index_text"]))
            vectors = self.index.sentence_vectors[chunk["s0"] : chunk["s0"] + len(chunk["sentences"])]
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
                score = 0.55 * float(dense[j]) + 0.45 * lex + 0.02 / n
                if wanted:  # a "when" question is not answered by a sentence without a date
                    score = score + 0.05 if all(holds(text) for holds in wanted) else score * 0.8
                if said_up_to is not None:
                    score += self._flow(start, said_up_to)
                out.append(Candidate(n, j, chunk["s0"] + j, start, end, text, kind, float(dense[j]), lex, score))
        out.sort(key=lambda c: -c.score)
        return out

    def choose(self, candidates: list[Candidate], retrieved: Retrieved) -> list[Candidate]:
        """The sentences that answer, in the order they are quoted; both backends quote these.

        A compound question's answer adds each part's best sentence (with its list) that the
        question's own choice left out, when that part is addressed at all."""
        chosen = self.select(candidates, retrieved)
        held = {(c.n, c.position) for c in chosen}
        for part in retrieved.parts:
            scored = self.score_sentences(retrieved, part)
            if not scored or scored[0].score < self.min_score:
                continue
            added = [c for c in self.select(scored, retrieved) if (c.n, c.position) not in held]
            chosen += added
            held |= {(c.n, c.position) for c in added}
        return chosen

    @staticmethod
    def _flow(start: int, said_up_to: int) -> float:
        """A follow-up ("What did she do after that?") is most often answered by the text just after the last answer."""
        distance = start - said_up_to
        return FLOW_NEXT * (1 - distance / FLOW_WINDOW) if 0 <= distance < FLOW_WINDOW else 0.0

    def select(self, candidates: list[Candidate], retrieved: Retrieved, limit: int = 0) -> list[Candidate]:
        """The best sentences of one question (up to `limit`, or max_sentences), with the lists they introduce."""
        best = candidates[0]
        chosen = [best]
        for c in candidates[1:]:
            if len(chosen) >= (limit or self.max_sentences) or c.score < self.keep_ratio * best.score:
                break
            if c.kind != "item":  # items are only quoted with the sentence that introduces them
                chosen.append(c)
        # A sentence that introduces a list brings the list; so does the one just before it,
        # as in "X proposed a roadmap of seven issues. The issues include: 1. ... 7. ..."
        expanded = list(chosen)
        for c in chosen:
            sentences = self.index.chunks[retrieved.hits[c.n - 1].row]["sentences"]
            j = c.position
            if c.kind != "intro" and j + 1 < len(sentences) and sentences[j + 1][3] == "intro" and c is best:
                j += 1
                expanded.append(self._candidate(c, j, sentences[j]))
            if sentences[j][3] == "intro" or c.kind == "intro":
                k = j + 1
                while k < len(sentences) and sentences[k][3] == "item":
                    expanded.append(self._candidate(c, k, sentences[k]))
                    k += 1
        unique = {(c.n, c.position): c for c in expanded}
        # The best-scoring passage's sentences come first; within a passage, text order.
        lead = {}
        for c in chosen:
            lead.setdefault(c.n, c.score)
        return sorted(unique.values(), key=lambda c: (-lead[c.n], c.position))

    @staticmethod
    def _candidate(neighbour: Candidate, position: int, sentence: list) -> Candidate:
        start, end, text, kind = sentence
        row = neighbour.row + position - neighbour.position
        return Candidate(neighbour.n, position, row, start, end, text, kind, 0.0, 0.0, 0.0)

    def compose(self, chosen: list[Candidate]) -> Draft:
        parts: list[str] = []
        spans: dict[int, list[tuple[int, int]]] = {}
        for i, c in enumerate(chosen):
            last_of_run = i + 1 == len(chosen) or chosen[i + 1].n != c.n or chosen[i + 1].position != c.position + 1
            after_item = i > 0 and chosen[i - 1].kind == "item"
            sep = "\n" if c.kind == "item" or after_item else (" " if parts else "")
            parts.append(f"{sep}{c.text}{f' [{c.n}]' if last_of_run else ''}")
            spans.setdefault(c.n, []).append((c.start, c.end))
        return Draft(text="".join(parts).strip(), spans=spans)
