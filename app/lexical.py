"""The one tokenizer for everything lexical: BM25 indexing, query terms, and term overlap."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    him his how i if in into is it its itself just me more most my no nor not now of off on once only or other our
    ours out over own same she should so some such than that the their theirs them then there these they this those
    through to too under until up very was we were what when where which while who whom why will with would you your
    yours s t also whose according said say says tell told many much""".split()
)
_TOKEN = re.compile(r"[a-z0-9]+(?:[-'’][a-z0-9]+)*")
_POSSESSIVE = re.compile(r"['’]s$")
_JOINERS = re.compile(r"[-'’]")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def fold(text: str) -> str:
    """Lower case without accents, so `Azevêdo` and `azevedo` meet."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    """Content words, folded, with hyphens dropped: `e-commerce` and `ecommerce` are one word."""
    out = []
    for token in _TOKEN.findall(fold(text)):
        if not token.isalnum():  # only the few with a hyphen or an apostrophe: rewriting every token was most of the time
            token = _JOINERS.sub("", _POSSESSIVE.sub("", token))
        if token and token not in STOPWORDS:
            out.append(token)
    return out


def tokenize(text: str) -> list[str]:
    return _stemmer().stemWords(words(text))
