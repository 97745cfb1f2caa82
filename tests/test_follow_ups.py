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


@pytest.fixture(scope="module")
def career(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("career")
    (root / "docs").mkdir()
    (root / "docs" / "berg.txt").write_text(CAREER, encoding="utf-8")
    a = Assistant(Settings(index_dir=root / "index", sources=[root / "docs"], backend="extractive"), progress=False, embedder=embedder)
    a.ensure_index()
    return a


def test_what_happened_next_is_read_from_just_after_the_last_answer(career):
    first = career.ask("When did Anna Berg join the Lund Philharmonic?")
    assert "In 1990 she joined" in first.answer
    history = [{"role": "user", "content": "When did Anna Berg join the Lund Philharmonic?"}, {"role": "assistant", "content": first.answer}]
    answer = career.ask("What did she do after that?", history=history)
    assert not answer.abstained
    assert "In 1994 she left the orchestra" in answer.answer, answer.answer
    assert any("In 1994 she left the orchestra" in c.text for c in answer.citations)
