"""A follow-up question is answered from where the conversation is in the document."""

import pytest

from app.assistant import Assistant
from app.settings import Settings

CAREER = (
    "Anna Berg\n\n"
    "Anna Berg was born in Lund in 1968 and studied the violin at the Malmo Academy of Music. "
    "In 1990 she joined the Lund Philharmonic as a violinist. "
    "In 1994 she left the orchestra to found the Berg String Quartet with three friends from the academy. "
    "The quartet toured Germany and Poland for five years. "
    "In 1999 the Berg String Quartet won the Paris chamber music competition. "
    "In 2003 she gave up the violin and became a conductor at the Oslo opera house. "
    "She has recorded twelve albums with the quartet and four with the Oslo opera orchestra.\n"
)


def one_document(tmp_path_factory, embedder, text: str, **others: str) -> Assistant:
    """An extractive assistant over a collection of one document (and `others`, by file name)."""
    root = tmp_path_factory.mktemp("berg")
    (root / "docs").mkdir()
    (root / "docs" / "berg.txt").write_text(text, encoding="utf-8")
    for name, other in others.items():
        (root / "docs" / name).write_text(other, encoding="utf-8")
    a = Assistant(Settings(index_dir=root / "index", sources=[root / "docs"], backend="extractive"), progress=False, embedder=embedder)
    a.ensure_index()
    return a


@pytest.fixture(scope="module")
def career(tmp_path_factory, embedder):
    return one_document(tmp_path_factory, embedder, CAREER)


def test_what_happened_next_is_read_from_just_after_the_last_answer(career):
    first = career.ask("When did Anna Berg join the Lund Philharmonic?")
    assert "In 1990 she joined" in first.answer
    history = [{"role": "user", "content": "When did Anna Berg join the Lund Philharmonic?"}, {"role": "assistant", "content": first.answer}]
    answer = career.ask("What did she do after that?", history=history)
    assert not answer.abstained
    assert "In 1994 she left the orchestra" in answer.answer, answer.answer
    assert any("In 1994 she left the orchestra" in c.text for c in answer.citations)


YEARS = [
    ("1990", "joined the Lund Philharmonic as a violinist"), ("1994", "left the orchestra to found the Berg String Quartet"),
    ("1999", "won the Paris chamber music competition with the quartet"), ("2003", "became a conductor at the Oslo opera house"),
    ("2008", "moved to Vienna to teach conducting at the conservatory"), ("2012", "published a memoir about life on tour"),
    ("2016", "returned to Lund to lead the summer festival"), ("2020", "retired from the stage after a farewell concert"),
]
SEASON = (
    "The critics wrote at length about the concerts of that season, and the audiences in the halls of the northern cities "
    "grew larger every month as word of the performances spread among the music lovers of the region."
)


@pytest.fixture(scope="module")
def long_career(tmp_path_factory, embedder):
    a = one_document(tmp_path_factory, embedder, "Anna Berg\n\n" + " ".join(f"In {year} Anna Berg {event}. {SEASON}" for year, event in YEARS) + "\n")
    assert len(a.index.chunks) == 3
    return a


def test_the_passage_that_reads_on_from_the_last_answer_ranks_above_a_distant_one(long_career):
    history = [
        {"role": "user", "content": "What did Anna Berg do in 1994?"},
        {"role": "assistant", "content": "In 1994 Anna Berg left the orchestra to found the Berg String Quartet. [1]"},
    ]
    passages = long_career.retrieve("What happened next?", 3, history).passages
    order = [p.start for p in passages]
    said = next(p for p in passages if "In 1994 Anna Berg left" in p.text)
    after = next(p for p in passages if p.start > said.start and p.start < said.end)  # overlaps it and reads on
    distant = next(p for p in passages if p.start > said.end)
    assert order.index(after.start) < order.index(distant.start), order


HOLM = (
    "Carl Holm\n\n"
    "Carl Holm is a pianist from Bergen. "
    "He won the Bergen piano competition in 2001, a competition for young pianists, and the Nordic Music Prize in 2005. "
    "He teaches at the Bergen conservatory.\n"
)


@pytest.fixture(scope="module")
def two_careers(tmp_path_factory, embedder):
    return one_document(tmp_path_factory, embedder, CAREER, **{"holm.txt": HOLM})


BERG_HISTORY = [
    {"role": "user", "content": "When did Anna Berg join the Lund Philharmonic?"},
    {"role": "assistant", "content": "In 1990 she joined the Lund Philharmonic as a violinist. [1]"},
]


def test_a_follow_up_is_answered_from_the_document_the_conversation_is_about(two_careers):
    # Asked cold, "prize" finds Carl Holm's sentence; in a conversation about Anna Berg, hers alone are quoted.
    assert "Nordic Music Prize" in two_careers.ask("Which prize did they win?").answer
    answer = two_careers.ask("Which prize did the violinist win?", history=BERG_HISTORY)
    assert "Paris chamber music competition" in answer.answer, answer.answer
    assert "Nordic Music Prize" not in answer.answer
    assert {c.passage_id.split(":")[0] for c in answer.citations} == {"berg.txt"}


def test_after_a_refused_turn_the_conversation_stays_where_its_last_answer_was(two_careers):
    refused = two_careers.ask("Did she ever play in Tokyo?", history=BERG_HISTORY)
    assert refused.abstained, refused.answer
    history = [*BERG_HISTORY, {"role": "user", "content": "Did she ever play in Tokyo?"}, {"role": "assistant", "content": refused.answer}]
    answer = two_careers.ask("Which prize did the violinist win?", history=history)
    assert "Paris chamber music competition" in answer.answer, answer.answer
    assert "Nordic Music Prize" not in answer.answer


def test_a_follow_up_that_names_another_subject_leaves_the_conversation(two_careers):
    answer = two_careers.ask("Which prize did Carl Holm win?", history=BERG_HISTORY)
    assert "Nordic Music Prize" in answer.answer, answer.answer
    assert {c.passage_id.split(":")[0] for c in answer.citations} == {"holm.txt"}


def test_a_short_follow_up_borrows_the_last_question_unless_it_names_something_new():
    history = [
        {"role": "user", "content": "When was the ASEAN e-commerce agreement concluded?"},
        {"role": "assistant", "content": "The deal was concluded in November 2018 [1]."},
    ]
    assert "ASEAN" in Assistant.standalone("Who implements it?", history)
    assert "ASEAN" in Assistant.standalone("Who signed?", history)
    assert Assistant.standalone("What did FED propose?", history) == "What did FED propose?"
    assert "ASEAN" in Assistant.standalone("And did ASEAN publish?", history)  # no new name
