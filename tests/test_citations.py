"""The citation check, on answers written by hand: what it keeps, removes and flags."""

import pytest

from app.citations import check
from app.prompts import Evidence, Prompts, PromptError, select_evidence


def evidence_for(assistant, question, k=5):
    backend = assistant.backend("extractive")
    retrieved = assistant.retrieve(question, k)
    candidates = backend.score_sentences(retrieved)
    chunks = {n: assistant.index.chunks[h.row] for n, h in enumerate(retrieved.hits, start=1)}
    return select_evidence(candidates, chunks, 600), chunks


@pytest.fixture(scope="module")
def fed(assistant):
    return evidence_for(assistant, "What did FED propose?")


def run_check(assistant, text, evidence):
    return check(text, evidence, assistant.index.sentence_vectors, assistant.embedder)


def test_a_supported_cited_answer_passes(assistant, fed):
    evidence, _ = fed
    n = evidence[0].n
    out = run_check(assistant, f"Ministers from FED member countries proposed a roadmap with seven priority issues [{n}].", evidence)
    assert out.grounded and not out.unsupported and not out.warnings
    start, end = out.spans[n][0]
    assert "proposed a roadmap with seven priority issues" in assistant.index.texts["001_87eab1ca58c4959e.txt"][start:end]


def test_markers_pointing_at_no_passage_are_removed_and_reported(assistant, fed):
    evidence, _ = fed
    n = evidence[0].n
    out = run_check(assistant, f"FED proposed a roadmap with seven priority issues [{n}][9].", evidence)
    assert "[9]" not in out.text and f"[{n}]" in out.text
    assert any("removed citation [9]" in w for w in out.warnings)


def test_an_invented_sentence_is_flagged_unsupported(assistant, fed):
    evidence, _ = fed
    n = evidence[0].n
    out = run_check(assistant, f"FED proposed a roadmap with seven priority issues [{n}]. China won the 2018 FIFA World Cup in Moscow [{n}].", evidence)
    assert len(out.unsupported) == 1 and "FIFA" in out.unsupported[0]
    assert not any("roadmap" in u for u in out.unsupported)


def test_an_answer_with_no_valid_citation_is_not_grounded(assistant, fed):
    evidence, _ = fed
    out = run_check(assistant, "Penguins migrate across Antarctica every winter [7].", evidence)
    assert not out.grounded and out.spans == {}
    assert out.unsupported and any("not grounded" in w for w in out.warnings)


def test_an_uncited_but_supported_sentence_gets_its_citation(assistant, fed):
    evidence, _ = fed
    out = run_check(assistant, "Ministers from FED member countries proposed a roadmap with seven priority issues.", evidence)
    assert out.grounded and f"[{evidence[0].n}]" in out.text
    assert any("support check added" in w for w in out.warnings)


@pytest.mark.parametrize("text", ["The passages do not contain the answer.", "The collection does not answer this question.", "This is not mentioned in the passages."])
def test_a_model_refusal_is_recognised(assistant, fed, text):
    assert run_check(assistant, text, fed[0]).refused


def test_evidence_fits_the_budget_and_marks_gaps(assistant):
    from app import tokens

    evidence, chunks = evidence_for(assistant, "What are the recommendations on payment solutions?")
    backend = assistant.backend("extractive")
    retrieved = assistant.retrieve("What are the recommendations on payment solutions?", 5)
    tight = select_evidence(backend.score_sentences(retrieved), chunks, 120)
    assert sum(tokens.count(s[2]) + 1 for e in tight for s in e.sentences) <= 120
    assert sum(len(e.sentences) for e in tight) < sum(len(e.sentences) for e in evidence)
    gappy = Evidence(1, "", [(0, 5, "First.", 0), (20, 30, "Third.", 2)], [0, 2], ["sentence", "sentence"])
    assert gappy.text == "First. … Third."


def test_prompts_are_templates_loaded_by_name(tmp_path, assistant):
    from app.settings import Settings

    prompts = Prompts(Settings().prompts_dir)
    assert "[2]" in prompts.render("system", refusal=prompts.refusal())
    assert prompts.refusal("no passage mentions Zorro") == "The collection does not answer this question: no passage mentions Zorro."
    (tmp_path / "refusal.j2").write_text("Sorry, our documents are silent on this{% if reason %} ({{ reason }}){% endif %}.")
    assert Prompts(tmp_path).refusal("x") == "Sorry, our documents are silent on this (x)."
    with pytest.raises(PromptError, match="system.j2 not found"):
        Prompts(tmp_path).render("system", refusal="")
    (tmp_path / "broken.j2").write_text("{% if %}")
    with pytest.raises(PromptError, match="broken.j2:1"):
        Prompts(tmp_path).render("broken")


def test_a_citation_to_the_wrong_passage_is_corrected(assistant):
    evidence, _ = evidence_for(assistant, "Who chaired the WTO e-commerce meetings?")
    assert len(evidence) >= 2
    right = next(e for e in evidence if any("Yamazaki" in s[2] for s in e.sentences))
    wrong = next(e for e in evidence if e.n != right.n)
    out = run_check(assistant, f"Ambassador Kazuyuki Yamazaki of Japan chaired the meetings [{wrong.n}].", evidence)
    assert f"[{right.n}]" in out.text and f"[{wrong.n}]" not in out.text
    assert list(out.spans) == [right.n]
    assert any("corrected the citation" in w for w in out.warnings)


def test_a_sentence_with_words_from_nowhere_is_unsupported(assistant, fed):
    evidence, _ = fed
    n = evidence[0].n
    text = f"FED proposed a roadmap with seven priority issues [{n}]:\n1. Paperless customs\n2. Drone parcels"
    out = check(text, evidence, assistant.index.sentence_vectors, assistant.embedder, known=assistant.index.knows, question="What did FED propose?")
    assert any("Drone parcels" in u for u in out.unsupported)
    assert not any("roadmap" in u for u in out.unsupported)


def test_a_marker_after_the_full_stop_belongs_to_the_sentence_before_it():
    from app.citations import _split

    _, cited, _, bodies = _split("Members issued a joint statement. [1] Ambassador Yamazaki chaired the meetings. [2, 3]\nA list item [4]")
    assert bodies == ["Members issued a joint statement.", "Ambassador Yamazaki chaired the meetings.", "A list item"]
    assert cited == [[1], [2, 3], [4]]


def test_a_name_of_the_question_joined_to_another_passages_fact_is_unsupported(assistant):
    question = "What is the population of Malaysia?"
    evidence, _ = evidence_for(assistant, question)
    africa = next(e for e in evidence if any("fifth of the population in Africa" in s[2] for s in e.sentences))
    malaysia = next(e for e in evidence if any("hub in Malaysia" in s[2] for s in e.sentences))

    def checked(text):
        return check(text, evidence, assistant.index.sentence_vectors, assistant.embedder, known=assistant.index.knows, question=question)

    # Every word is in the question or the Africa passage, but no passage says this of Malaysia.
    joined = checked(f"Malaysia's population is over a fifth of the population in Africa [{africa.n}].")
    assert joined.unsupported and not joined.spans
    assert not checked(f"Just over a fifth of the population in Africa uses the Internet [{africa.n}].").unsupported
    assert not checked(f"Alibaba's eWTP launched its first hub in Malaysia in November 2017 [{malaysia.n}].").unsupported


def test_names_the_question_does_not_give_may_be_gathered_from_several_passages():
    from app.citations import _stray_names

    shown = {
        1: Evidence(1, "Television", [(0, 60, "Barrowman first starred as Peter Fairchild in Central Park West.", 0)]),
        2: Evidence(2, "", [(0, 40, "He then appeared as Peter Williams in Titans.", 1)]),
        3: Evidence(3, "Career", [(0, 40, "Vollmer's mother died in 1976 after a fall.", 2)]),
    }
    question = "What soap operas did Barrowman star in?"
    assert not _stray_names("Barrowman starred in Central Park West and Titans", [shown[1]], shown, question)
    assert _stray_names("Barrowman starred in Hotel Babylon", [shown[1]], shown, question)  # a name no passage gives
    # The question's own name must be in the passage the sentence rests on, not only in another one.
    assert _stray_names("Barrowman's mother died in 1976", [shown[3]], shown, "When did Barrowman's mother die?")
    assert not _stray_names("Vollmer's mother died in 1976", [shown[3]], shown, "When did Vollmer's mother die?")


def test_an_uncited_sentence_is_attributed_to_the_passage_it_copies_not_to_a_more_similar_one(assistant):
    # Passage 1 is the closest in meaning but lacks the sentence's date; passage 2 holds it word for word
    # (from the QuAC collection, where the 0.5B model's answer was dropped as unsupported for this).
    passages = [
        ["Marx was asked to apply the greasepaint mustache once more for You Bet Your Life, but he refused, opting instead to grow a real one."],
        ["The greasepaint mustache and eyebrows originated spontaneously prior to a vaudeville performance in the early 1920s "
         "when he did not have time to apply the pasted-on mustache he had been using.",
         "Marx added the greasepaint to his eyebrows and headed for the stage."],
    ]
    texts = [t for p in passages for t in p]
    answer = ("Marx was known for this mustache because it originated spontaneously prior to a vaudeville performance "
              "in the early 1920s when he did not have time to apply the pasted-on mustache he had been using.")
    vectors = assistant.embedder.encode(texts)
    vectors[0] = assistant.embedder.encode([answer])[0]  # passage 1 as close in meaning as can be (in the real case, narrowly the closer)
    shown = [Evidence(n, "", [(0, len(t), t, texts.index(t)) for t in p], list(range(len(p))), ["sentence"] * len(p)) for n, p in enumerate(passages, start=1)]
    out = check(answer, shown, vectors, assistant.embedder, known=assistant.index.knows, question="Why is Marx known for this mustache?")
    assert out.grounded and not out.unsupported
    assert list(out.spans) == [2] and out.text.endswith("[2].")


def test_a_number_from_another_passage_is_not_supported_by_the_passage_that_holds_it(assistant):
    # The 0.5B model joined another passage's count of WTO members to the eTrade passage it cites;
    # that other passage holds the number and three of the sentence's five words, but the sentence
    # is the eTrade passage's, with a wrong number: no citation may be moved to the passage with the number.
    question = "How many organizations are members of the eTrade for all initiative?"
    evidence, _ = evidence_for(assistant, question)
    assert any("participating in the e-commerce initiative is 87" in s[2] for e in evidence for s in e.sentences)
    etrade = next(e for e in evidence if any("currently members of the initiative" in s[2] for s in e.sentences))
    out = check(f"87 organizations are members of the eTrade for all initiative [{etrade.n}].", evidence, assistant.index.sentence_vectors,
                assistant.embedder, known=assistant.index.knows, question=question)
    assert out.unsupported and not out.spans
