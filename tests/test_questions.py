import pytest

from app import sentences
from app.questions import parts


@pytest.mark.parametrize(
    "question, expected",
    [
        (
            "When was the WTO joint statement issued, and when was the ASEAN agreement concluded?",
            ["When was the WTO joint statement issued?", "When was the ASEAN agreement concluded?"],
        ),
        ("Who chaired the meetings and how many members take part?", ["Who chaired the meetings?", "How many members take part?"]),
        (
            "What part did the WCO play at E-Commerce Week and at the Beijing conference?",
            ["What part did the WCO play at E-Commerce Week?", "What part did the WCO play at the Beijing conference?"],
        ),
        (
            "Which company appears both in the report and in the analysis?",
            ["Which company appears in the report?", "Which company appears in the analysis?"],
        ),
        ("Which event drew more participants: the Week or the conference?", ["Which event drew more participants: the Week?", "Which event drew more participants: the conference?"]),
    ],
)
def test_a_compound_question_is_split_into_what_it_asks(question, expected):
    assert parts(question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "What did the EIF and Germany pledge?",  # one thing asked of two names
        "When and where was the First Global Cross-border E-commerce Conference held?",
        "When was the conference held, and where?",
        "How many representatives took part, and from how many countries?",  # one sentence answers both
        "Did the timeslot change help or hurt ratings?",
        "What did FED propose?",
    ],
)
def test_a_question_asking_one_thing_stays_whole(question):
    assert parts(question) == []


@pytest.mark.parametrize(
    "question, terms",
    [
        ("What is the UNHCR?", ["unhcr"]),
        ("Who was John Brown?", ["john", "brown"]),
        ("What was the Reciprocity Treaty of 1875?", ["reciproc", "treati", "1875"]),
        # about a thing, not what it is: the best quotes answer these as they are
        ("What is the population of Malaysia?", []),
        ("What was his position?", []),
        ("What was Bauhaus' legacy?", []),
        ("What is ACCEC formally responsible for?", []),
        ("What were some songs on the Velociraptor album?", []),
    ],
)
def test_the_questions_that_ask_what_a_thing_is(question, terms):
    assert sentences.defined_term(question) == terms
