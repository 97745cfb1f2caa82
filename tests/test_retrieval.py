import pytest

from conftest import FED

EXACT = [
    ("What did FED propose?", FED, "Friends of E-Commerce for Development (FED)"),
    ("What is CBEC?", "002_59de855d1fbbee2d.txt", "cross-border e-commerce (CBEC)"),
    ("What is ACCEC responsible for?", "003_6f832b08e556fda3.txt", "ACCEC is now formally responsible"),
    ("Where did the eWTP launch its first hub?", "002_59de855d1fbbee2d.txt", "launched its first hub in Malaysia"),
]
PARAPHRASED = [
    ("Which ambassador led the sessions of the joint statement talks?", "000_69525f96bd29f103.txt", "who chaired the meetings"),
    ("How large was the attendance at the week-long UNCTAD event?", FED, "over 1,000 representatives"),
    ("What role did the customs authorities of China play at the Beijing event?", "002_59de855d1fbbee2d.txt", "General Administration of Customs"),
    pytest.param(
        "Why might businesses be unimpressed by the Southeast Asian deal?", "003_6f832b08e556fda3.txt", "greeted with a yawn",
        marks=pytest.mark.xfail(strict=True, reason="known miss: MiniLM does not link 'Southeast Asian' to ASEAN"),
    ),
]


@pytest.mark.parametrize("question, doc, phrase", EXACT)
def test_acronyms_are_found(assistant, question, doc, phrase):
    passages = assistant.retrieve(question, 3).passages
    assert any(p.doc == doc and phrase in p.text for p in passages), [p.passage_id for p in passages]


@pytest.mark.parametrize("question, doc, phrase", PARAPHRASED)
def test_paraphrased_questions_find_their_passage(assistant, question, doc, phrase):
    passages = assistant.retrieve(question, 5).passages
    assert any(p.doc == doc and phrase in " ".join(p.text.split()) for p in passages), [p.passage_id for p in passages]


def test_passages_come_best_first_and_unique(assistant):
    passages = assistant.retrieve("What did FED propose?", 5).passages
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert len({p.passage_id for p in passages}) == 5


def test_top_rows_is_a_full_sort_cut_short_ties_broken_by_row():
    import numpy as np

    from app.retrieval import top_rows

    rng = np.random.default_rng(7)
    for size in (1, 5, 40, 5000):
        scores = rng.integers(0, 6, size).astype(np.float32)  # many ties
        for n in (1, 3, 30, size, size + 10):
            assert list(top_rows(scores, n)) == list(np.argsort(-scores, kind="stable")[:n])
    assert len(top_rows(np.ones(4, dtype=np.float32), 0)) == 0


def test_each_part_of_a_compound_question_keeps_its_best_passage():
    from app.retrieval import with_leads

    ranking = [4, 9, 1, 7, 3, 8, 2]
    assert with_leads(ranking, [], 5) == [4, 9, 1, 7, 3]
    assert with_leads(ranking, [2], 5) == [4, 9, 1, 7, 2]  # the part's passage in, the weakest other out
    assert with_leads(ranking, [9, 2, 8], 5) == [4, 9, 1, 8, 2]  # still in ranking order
    assert with_leads(ranking[:2], [9], 5) == [4, 9]


def test_a_follow_up_stays_with_the_document_the_conversation_is_about(assistant):
    asean = "003_6f832b08e556fda3.txt"
    history = [
        {"role": "user", "content": "What did the ASEAN e-commerce agreement conclude?"},
        {"role": "assistant", "content": "ASEAN members concluded negotiations on the ASEAN Agreement on Electronic Commerce in November 2018 [1]."},
        {"role": "user", "content": "Is it binding?"},
        {"role": "assistant", "content": "The collection does not answer this question."},  # a refusal says nothing about the topic
    ]
    question = "What role does the business community play?"
    alone = assistant.retrieve(question)
    followed = assistant.retrieve(assistant.standalone(question, history), history=history)
    assert alone.passages[0].doc != asean  # asked cold, another document's passage comes first
    assert followed.passages[0].doc == asean
