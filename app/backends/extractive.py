"""The extractive answerer: no LLM, it quotes the retrieved sentences that answer the question.

It abstains when the evidence is weak, when the question names something (a proper noun or an
acronym) that no retrieved passage mentions: "the Federal Reserve" is not "FED", and when it asks
for a sum of money that no passage gives. The sentences are scored in sentences.py.
"""

from __future__ import annotations

import bisect

from .. import lexical, names, sentences
from ..index import Index
from ..prompts import Prompts
from ..retrieval import Part, Retrieved
from ..safety import looks_like_instructions
from ..sentences import Candidate, leans_on_previous
from . import Draft

class Extractive:
    name = "extractive"

    # min_score, the best sentence's score below which the question counts as unaddressed, is
    # chosen on both gold collections by bench/refusal_threshold.py; max_sentences and keep_ratio by
    # a sweep on both (bench/README.md, "How many sentences are quoted").
    def __init__(self, index: Index, prompts: Prompts, max_sentences: int = 4, min_score: float = 0.30, keep_ratio: float = 0.85):
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
        kind = sentences.missing_kind(retrieved.question, [c.text for c in candidates if c.score >= self.min_score])
        if kind:
            return f"it asks for {kind} and no passage found gives one"
        return None

    def refuse(self, reason: str = "") -> Draft:
        return Draft(text=self.prompts.refusal(reason), abstained=True, grounded=False)

    def unmentioned_names(self, retrieved: Retrieved) -> list[str]:
        """Names in the question (capitalised words after the first, acronyms anywhere) that no document mentions.

        A name counts as mentioned when the collection holds a word sharing all but its last
        three letters (at least five): "Australian" is mentioned by "Australia"; another form of
        a place name ("French": "France"); or a spelling a letter away ("Mohammad": "Mohammed").
        A full name's given name may be left out by passages that name the person by surname.
        """
        passages = [self.index.chunks[h.row]["index_text"] for h in retrieved.hits]
        # "Nadia" of "Nadia Comaneci" where the text says "Comaneci", asked in full now or earlier in the conversation
        left_out = names.left_out(f"{retrieved.question}\n{retrieved.context}", passages)
        return [w for w in names.in_question(retrieved.question)
                if not all(t in left_out or self._mentioned(t) for t in lexical.words(w))]

    def _mentioned(self, word: str) -> bool:
        if names.known_form(word, self.index.knows):  # "French" is mentioned by "France"
            return True
        stem = word[: max(5, len(word) - 3)]
        at = bisect.bisect_left(self.index.vocabulary, stem)  # the sorted vocabulary: words with this prefix start here
        if len(word) >= 5 and at < len(self.index.vocabulary) and self.index.vocabulary[at].startswith(stem):
            return True
        return names.near_spelling(word, self.index.vocabulary)

    def score_sentences(self, retrieved: Retrieved, part: Part | None = None) -> list[Candidate]:
        """Every retrieved sentence as an answer to the question (or to `part` of it), best first."""
        return sentences.score(self.index, [h.row for h in retrieved.hits], part or retrieved, retrieved.said)

    def choose(self, candidates: list[Candidate], retrieved: Retrieved) -> list[Candidate]:
        """The sentences that answer, in the order they are quoted; both backends quote these.

        A compound question's answer adds the best sentences of each part (with their lists) that
        the question's own choice left out, when that part is addressed at all."""
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

    def select(self, candidates: list[Candidate], retrieved: Retrieved) -> list[Candidate]:
        """The best sentences of one question (up to max_sentences), with the lists they introduce."""
        best = candidates[0]
        chosen = [best]
        for c in candidates[1:]:
            if len(chosen) >= self.max_sentences or c.score < self.keep_ratio * best.score:
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
        # The best sentence is quoted with the one before it when it cannot be understood alone.
        sentences_of_best = self.index.chunks[retrieved.hits[best.n - 1].row]["sentences"]
        before = best.position - 1
        if before >= 0 and sentences_of_best[before][3] != "item" and leans_on_previous(best.text, retrieved.question):
            expanded.append(self._candidate(best, before, sentences_of_best[before]))
        # "What is the UNHCR?": the sentence that says what it is, else the document's first that names it, comes first.
        definition = self._definition(candidates, retrieved, best)
        if definition is not None:
            expanded.append(definition)
        unique = {(c.n, c.position): c for c in expanded}
        # The best-scoring passage's sentences come first; within a passage, text order.
        lead = {definition.n: float("inf")} if definition is not None else {}
        for c in chosen:
            lead.setdefault(c.n, c.score)
        return sorted(unique.values(), key=lambda c: (-lead[c.n], c.position))

    def _definition(self, candidates: list[Candidate], retrieved: Retrieved, best: Candidate) -> Candidate | None:
        """For a "What is X?" question, the retrieved sentence of the best quote's document that defines X, else the
        document's first sentence naming X when it was retrieved; None when there is neither."""
        terms = set(sentences.defined_term(retrieved.question))
        if not terms:
            return None
        doc = retrieved.passages[best.n - 1].doc

        def names(text: str) -> bool:
            return terms <= set(lexical.tokenize(text))

        naming = sorted((c for c in candidates if c.kind != "item" and retrieved.passages[c.n - 1].doc == doc and names(c.text)), key=lambda c: c.start)
        if not naming:
            return None
        defining = next((c for c in naming if sentences.defines(c.text, retrieved.question)), None)
        if defining is not None:
            return defining
        first = naming[0]
        # Whether the document named it before: its chunks are read only up to the one that holds `first`.
        for row in range(self.index.doc_rows(doc)[0], retrieved.hits[first.n - 1].row + 1):
            for start, _, text, _ in self.index.chunks[row]["sentences"]:
                if start >= first.start:
                    return first
                if names(text):
                    return None
        return first

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
