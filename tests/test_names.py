"""A name asked in another form than the text's is not a reason to refuse; a name the collection lacks is."""

import pytest

from app import names
from app.assistant import Assistant
from app.settings import Settings

TEXT = {
    "tax.txt": "Digital services taxes\n\nFrance applies a digital services tax at a rate of 3% on the revenue of large platforms.\n",
    "trade.txt": "Exporters\n\nExporters from the Philippines asked for faster customs clearance at the ports of Manila.\n",
    "bank.txt": "Microcredit\n\nMohammed Yunus said that microcredit gives rural women access to e-commerce.\n",
    "rules.txt": "Regulation\n\nRegulators in China announced new rules for cross-border parcels in 2018.\n",
    "pact.txt": "Regional rules\n\nThe ASEAN agreement on electronic commerce will be implemented by a coordinating committee.\n",
    # a person named by surname only, and one whose first name is not the question's
    "gym.txt": "Olympic gymnastics\n\nIn 1976 Comaneci scored the first perfect ten in Olympic gymnastics.\n",
    "act.txt": "Trade law\n\nBill Clinton signed the digital trade act in 1998. Clinton called it a charter for online shops.\n",
}


@pytest.fixture(scope="module")
def names_assistant(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("names")
    (root / "docs").mkdir()
    for name, text in TEXT.items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    a = Assistant(Settings(index_dir=root / "index", sources=[root / "docs"], backend="extractive"), progress=False, embedder=embedder)
    a.ensure_index()
    return a


@pytest.mark.parametrize(
    "question, fact",
    [
        ("What rate is the French digital services tax?", "3%"),
        ("What did Filipino exporters ask for?", "faster customs clearance"),
        ("What did Mohammad Yunus say about microcredit?", "rural women"),
        ("What did Chinese regulators announce?", "cross-border parcels"),
        ("Who will implement the Southeast Asian e-commerce agreement?", "coordinating committee"),  # ASEAN: Southeast Asian Nations
        ("What did Nadia Comaneci score in 1976?", "perfect ten"),  # the text calls her by surname
    ],
)
def test_another_form_of_a_name_is_answered(names_assistant, question, fact):
    answer = names_assistant.ask(question)
    assert not answer.abstained, answer.answer
    assert fact in answer.answer


def test_a_name_the_collection_lacks_is_refused(names_assistant):
    answer = names_assistant.ask("What rate is the Zanzibar digital services tax?")
    assert answer.abstained
    assert "mentions Zanzibar" in answer.answer


def test_a_follow_up_may_call_a_person_by_the_first_name_the_conversation_gave_in_full(names_assistant):
    first = names_assistant.ask("What did Nadia Comaneci score in 1976?")
    history = [{"role": "user", "content": "What did Nadia Comaneci score in 1976?"}, {"role": "assistant", "content": first.answer}]
    answer = names_assistant.ask("What did Nadia score at the Olympic games?", history=history)  # borrows nothing: it names "Olympic"
    assert not answer.abstained, answer.answer
    assert "perfect ten" in answer.answer


def test_a_first_name_the_text_gives_another_person_is_refused(names_assistant):
    answer = names_assistant.ask("What did Hillary Clinton sign in 1998?")
    assert answer.abstained
    assert "mentions Hillary" in answer.answer


def test_the_given_names_that_passages_naming_by_surname_leave_out():
    assert names.left_out("Did Nadia Comaneci win?", ["Romanian Comaneci won. In 1976 Comaneci scored."]) == {"nadia"}
    assert names.left_out("What was Tim Kaine's strategy?", ["According to Kaine, it was democracy."]) == {"tim"}
    assert names.left_out("What did Hillary Clinton say?", ["Bill Clinton said it. Clinton left."]) == set()
    assert names.left_out("What did the Asian Development Bank fund?", ["The World Bank funded it."]) == set()
    assert names.left_out("What did Nadia Comaneci win?", ["Nothing about her here."]) == set()


def test_short_names_are_not_matched_by_spelling():
    assert names.near_spelling("mohammad", ["mohammed"])
    assert not names.near_spelling("iran", ["iraq"])  # four letters: a different country
    assert names.variants("French") == {"france"}


def test_the_names_a_question_asks_about():
    assert names.in_question("What did FED propose at UNCTAD's E-Commerce Week?") == ["FED", "UNCTAD's", "E-Commerce", "Week"]
    assert names.in_question("Who launched eWTP and when did eWTP open?") == ["eWTP"]
    assert names.in_question("When was it concluded?") == []
