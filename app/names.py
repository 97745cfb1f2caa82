"""Whether a name in a question is mentioned by the collection in another form.

A question says "French" where the text says "France", "Filipino" where it says "Philippines",
"Mohammad" where it says "Mohammed". Such a question must not be refused as being about a name
the collection does not know; a name that is truly absent still is.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from typing import Callable

from . import lexical

_WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")

# Place names with their adjectives and demonyms, each group one line: any form mentions the others
# (and ASEAN, the Association of Southeast Asian Nations, is what a "Southeast Asian" pact names).
_GROUPS = """
afghanistan afghan | africa african | albania albanian | algeria algerian | america american | arab arabic arabian arabia
argentina argentine argentinian | armenia armenian | asia asian | assyria assyrian | australia australian | austria austrian
azerbaijan azerbaijani | babylon babylonia babylonian | bangladesh bangladeshi | bavaria bavarian | belgium belgian
bengal bengali | bolivia bolivian | brazil brazilian | britain british briton uk | brunei bruneian | bulgaria bulgarian
burma burmese myanmar | byzantium byzantine | california californian | cambodia cambodian khmer | canada canadian
catalonia catalan | chaldea chaldean | chile chilean | china chinese | colombia colombian | corsica corsican | crete cretan
croatia croatian croat | cuba cuban | cyprus cypriot | czechia czech | denmark danish dane | ecuador ecuadorian
egypt egyptian | england english | ethiopia ethiopian | europe european | finland finnish finn | flanders flemish
florence florentine | france french | georgia georgian | germany german | ghana ghanaian | greece greek | haiti haitian
hawaii hawaiian | hungary hungarian | iceland icelandic icelander | india indian | indonesia indonesian | iran iranian persia persian
iraq iraqi | ireland irish | israel israeli | italy italian | jamaica jamaican | japan japanese | java javanese
jordan jordanian | kazakhstan kazakh | kenya kenyan | korea korean | kurdistan kurdish kurd | kuwait kuwaiti | laos lao laotian
lebanon lebanese | libya libyan | luxembourg luxembourgish | malaysia malaysian | malta maltese | mexico mexican
mongolia mongolian mongol | morocco moroccan | naples neapolitan | nepal nepalese nepali | netherlands dutch holland
nigeria nigerian | norway norwegian | oman omani | pakistan pakistani | paraguay paraguayan | peru peruvian
philippines philippine filipino filipina | poland polish pole | portugal portuguese | punjab punjabi | qatar qatari
rome roman | romania romanian | russia russian | rwanda rwandan | saudi saudis | scotland scottish scot scots
senegal senegalese | serbia serbian serb | sicily sicilian | singapore singaporean | slovakia slovak | somalia somali
spain spanish spaniard | sudan sudanese | sweden swedish swede | switzerland swiss | syria syrian | taiwan taiwanese
tanzania tanzanian | texas texan | thailand thai | tibet tibetan | tunisia tunisian | turkey turkish turk | uganda ugandan
ukraine ukrainian | uruguay uruguayan | uzbekistan uzbek | venezuela venezuelan | venice venetian | vietnam vietnamese
wales welsh | yemen yemeni | zambia zambian | zimbabwe zimbabwean
asean southeast asian
"""


def in_question(question: str) -> list[str]:
    """The names a question asks about: capitalised words after the first, and acronyms anywhere ("FED", "eWTP")."""
    words = _WORD.findall(question)
    found = [w for i, w in enumerate(words) if len(w) > 1 and ((i > 0 and w[0].isupper()) or sum(ch.isupper() for ch in w) >= 2)]
    return list(dict.fromkeys(found))


_RUN = re.compile(r"[A-Z][\w'’-]*(?:[ ]+[A-Z][\w'’-]*)+")  # adjacent capitalised words: one name
_POSSESSIVE = re.compile(r"['’]s$")
_APART = re.compile(r"[.,;:!?)\]\"”]$")  # a word ending so is not part of the name that follows it


def left_out(question: str, passages: list[str]) -> set[str]:
    """The given names of a question's full names that the passages leave out (folded words).

    Wikipedia-like text names a person in full once and by surname after: "What did Nadia
    Comaneci achieve?" is about the "Comaneci" of the passages, so "Nadia" is no reason to refuse.
    Only when the passages hold the surname, capitalised, and never put another name before it:
    "Hillary Clinton" is not forgiven where they say "Bill Clinton", nor "Asian Development Bank"
    where they say "World Bank"."""
    out: set[str] = set()
    for run in _RUN.findall(question):
        parts = run.split()
        while parts and parts[0].lower() in lexical.STOPWORDS:  # "Did Nadia Comaneci ...": the question's first word
            parts = parts[1:]
        if len(parts) < 2:
            continue
        *given, surname = parts
        given_words = {w for g in given for w in lexical.words(g)}
        if given_words and _stands_alone(_POSSESSIVE.sub("", surname), given_words, passages):
            out |= given_words
    return out


def _stands_alone(surname: str, given: set[str], passages: list[str]) -> bool:
    pattern = re.compile(rf"(?<![\w'’-]){re.escape(surname)}(?![\w-])")
    seen = False
    for text in passages:
        for m in pattern.finditer(text):
            seen = True
            before = text[: m.start()].split()[-1:]
            word = before[0] if before else ""
            if not word or not word[0].isupper() or _APART.search(word):
                continue
            folded = lexical.words(word)
            if folded and not set(folded) <= given and not variants(folded[0]):  # "Romanian Comaneci" is still her
                return False
    return seen


def first_word(text: str) -> str:
    """The first word of a text ("Malaysia's" of "Malaysia's population is ...")."""
    m = _WORD.search(text)
    return m.group() if m else ""


@lru_cache(maxsize=1)
def _forms() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for group in _GROUPS.replace("\n", " | ").split("|"):
        forms = frozenset(group.split())
        for f in forms:
            out[f] = out.get(f, frozenset()) | forms  # "asian" is in two groups
    return out


def variants(word: str) -> frozenset[str]:
    """The other forms of a place name or demonym (folded, lower case), or nothing."""
    return _forms().get(word.lower(), frozenset()) - {word.lower()}


def known_form(name: str, knows: Callable[[str], bool]) -> bool:
    """Whether every term of the name, or of another form of it, passes `knows` ("French" is known where "France" is)."""
    return any(all(knows(t) for t in lexical.tokenize(form)) for form in (name, *variants(name)))


def near_spelling(word: str, vocabulary: list[str]) -> bool:
    """Whether the sorted vocabulary holds a word one letter away (two for long names): Mohammad / Mohammed.

    Only words of six letters or more, with the same first letter, are compared: shorter names
    differ by a letter too often to be the same name ("Iran", "Iraq")."""
    word = word.lower()
    if len(word) < 6:
        return False
    allowed = 1 if len(word) < 9 else 2
    lo = bisect.bisect_left(vocabulary, word[0])
    hi = bisect.bisect_left(vocabulary, chr(ord(word[0]) + 1))
    return any(abs(len(v) - len(word)) <= allowed and _distance(word, v, allowed) <= allowed for v in vocabulary[lo:hi])


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, given up once it must exceed `limit`."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]
