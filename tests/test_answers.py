import json

import pytest

from app.assistant import QuestionError

from conftest import FED, SEEDS

FED_ISSUES = [
    "Identification of strategies for e-commerce readiness",
    "Access to ICT infrastructure and services",
    "Trade logistics and trade facilitation",
    "e-payment solutions",
    "Legal certainty and regulatory frameworks",
    "Capacity building and technical assistance",
    "Access to financing",
]


def assert_contract(answer):
    """Every citation and passage resolves: the document's text at [start, end) is the text given."""
    data = json.loads(answer.to_json())
    assert set(data) >= {"question", "answer", "abstained", "citations", "passages", "backend", "timings_ms"}
    for item in data["citations"] + data["passages"]:
        original = (SEEDS / item["doc"]).read_text(encoding="utf-8")
        assert original[item["start"] : item["end"]] == item["text"]
    ids = [p["passage_id"] for p in data["passages"]]
    for c in data["citations"]:
        assert ids[c["n"] - 1] == c["passage_id"]
        p = data["passages"][c["n"] - 1]
        assert p["start"] <= c["start"] < c["end"] <= p["end"]
        assert f"[{c['n']}]" in data["answer"]


def test_fed_question_gets_the_seven_priority_issues_cited(assistant):
    answer = assistant.ask("What did FED propose?")
    assert not answer.abstained
    assert "roadmap with seven priority issues" in answer.answer
    for issue in FED_ISSUES:
        assert issue in answer.answer
    cited = answer.citations[0]
    assert cited.doc == FED
    assert "Identification of strategies" in cited.text and "Access to financing." in cited.text
    assert_contract(answer)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("How many WTO members participate in the e-commerce initiative?", "87"),
        ("Who chaired the meetings of the WTO e-commerce negotiations?", "Kazuyuki Yamazaki"),
        ("When was the First Global Cross-border E-commerce Conference held?", "February 9-10, 2018"),
        ("Where did Alibaba's eWTP launch its first hub?", "Malaysia"),
        ("Who will implement the ASEAN e-commerce agreement?", "ASEAN E-Commerce Coordination Committee"),
        # The answers are in sentences that refer back ("This session ...", "The event was ..."): the
        # heading or the sentence before names what the question asks about.
        ("Who moderated the High-Level Event on Digital Transformation for All?", "Nancy Kacungira"),
        ("Who co-organized the Beijing cross-border e-commerce conference?", "World Customs Organization"),
        # A paraphrase that shares few words with the text is answered, not refused as unaddressed.
        ("Which yardstick puts the continent at the bottom for readiness to sell online?", "B2C E-Commerce Index"),
        ("What is the revenue of online travel services in ASEAN?", "$30 billion"),
    ],
)
def test_answers_hold_the_fact_and_cite_it(assistant, question, expected):
    answer = assistant.ask(question)
    assert not answer.abstained
    assert expected in answer.answer
    assert any(expected in " ".join(c.text.split()) for c in answer.citations)
    assert_contract(answer)


@pytest.mark.parametrize(
    "question, before, quoted",
    [
        # "They" are the Internet Futures project: said only by the sentence before.
        ("How many responses did the global surveys generate?", "Internet Futures project", "more than 2,500 responses"),
        # "therefore": the reason is the sentence before.
        ("Why will many companies be disappointed by the ASEAN e-commerce agreement?", "This commitment has not been made.", "greeted with a yawn"),
    ],
)
def test_a_quote_that_leans_on_the_sentence_before_comes_with_it(assistant, question, before, quoted):
    answer = assistant.ask(question)
    assert not answer.abstained
    text = " ".join(answer.answer.split())
    assert before in text and quoted in text and text.index(before) < text.index(quoted), text
    assert any(before in " ".join(c.text.split()) for c in answer.citations)
    assert_contract(answer)


@pytest.mark.parametrize(
    "question, definition",
    [
        ("What is SEOM?", "senior economic officials (SEOM)"),
        ("What is UNCTAD?", "United Nations Conference on Trade and Development (UNCTAD)"),
    ],
)
def test_what_is_a_thing_is_answered_first_by_the_sentence_that_says_what_it_is(assistant, question, definition):
    answer = assistant.ask(question)
    assert not answer.abstained
    first_quote = " ".join(answer.answer.split()).split("] ")[0]
    assert definition in first_quote, answer.answer
    assert any(definition in " ".join(c.text.split()) for c in answer.citations)
    assert_contract(answer)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("How many WTO members take part in the e-commerce initiative, and who will implement the ASEAN agreement?", ["87", "ASEAN E-Commerce Coordination Committee"]),
        ("Where did Alibaba's eWTP launch its first hub, and who moderated the High-Level Event on Digital Transformation for All?", ["Malaysia", "Nancy Kacungira"]),
        # A choice between two events is answered by a count from each, not by a date.
        ("Which conference drew more representatives: the Beijing cross-border e-commerce conference or E-Commerce Week 2017?", ["2,000", "1,000"]),
    ],
)
def test_each_part_of_a_compound_question_is_answered_and_cited(assistant, question, expected):
    answer = assistant.ask(question)
    assert not answer.abstained
    for fact in expected:
        assert fact in answer.answer
        assert any(fact in " ".join(c.text.split()) for c in answer.citations), fact
    assert_contract(answer)


@pytest.mark.parametrize(
    "question",
    [
        "What did the Federal Reserve propose?",
        "Who won the 2018 FIFA World Cup?",
        "what is the boiling point of mercury",
        "What did the Bank of Japan decide about interest rates?",
        # A sum of money asked where the passages give none (near misses: the names are in the collection).
        "How much money did UNCTAD spend on E-Commerce Week 2017?",
        "What was the budget of the Beijing cross-border e-commerce conference?",
    ],
)
def test_questions_the_collection_cannot_answer_are_refused(assistant, question):
    answer = assistant.ask(question)
    assert answer.abstained
    assert answer.citations == []
    assert answer.answer.startswith("The collection does not answer this question")
    assert answer.passages  # what was looked at is still shown


@pytest.mark.parametrize("question", ["", "   \n\t ", "x" * 2001])
def test_bad_questions_are_rejected_with_a_reason(assistant, question):
    with pytest.raises(QuestionError):
        assistant.ask(question)


def test_k_sets_how_many_passages_come_back(assistant):
    assert len(assistant.ask("What is eWTP?", k=2).passages) == 2
    assert len(assistant.ask("What is eWTP?", k=8).passages) == 8


def test_control_characters_are_dropped_from_questions(assistant):
    answer = assistant.ask("What did\x00 FED\x1b propose?")
    assert answer.question == "What did FED propose?"
    assert not answer.abstained
