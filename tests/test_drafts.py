"""The LLM answer design: quotes first, the model's words in front of them only when they pass every check."""

import pytest

from app.backends import Draft, drafts
from app.backends.extractive import Extractive
from app.backends.generative import Generative


class Scripted:
    """Fault injection: a generator that writes what a small model was seen to write."""

    name = "local"

    def __init__(self, text: str, pieces: int = 1):
        self.text, self.pieces, self.sent = text, pieces, 0

    def execute(self, messages, options):
        for _ in range(self.pieces):
            for word in self.text.split(" "):
                self.sent += 1
                yield word + " "


def answer_with(assistant, generator, question):
    index = assistant.index
    backend = Generative(generator, Extractive(index, assistant.prompts), assistant.settings, assistant.embedder, assistant.prompts)
    retrieved = assistant.retrieve(question)
    out = list(backend.run(retrieved))
    draft = out[-1]
    assert isinstance(draft, Draft)
    quotes = assistant.backend("extractive").answer(retrieved, assistant.backend("extractive").score_sentences(retrieved))
    return draft, quotes, "".join(x for x in out if isinstance(x, str))


def test_a_good_short_answer_stands_in_front_of_the_quotes(assistant):
    question = "Who chaired the meetings of the WTO e-commerce negotiations?"
    n = next(n for n, p in enumerate(assistant.retrieve(question).passages, start=1) if "Yamazaki" in p.text)
    written = f"Ambassador Kazuyuki Yamazaki of Japan chaired the meetings [{n}]."
    draft, quotes, streamed = answer_with(assistant, Scripted(written), question)
    assert draft.text.startswith(written)
    assert not draft.warnings and draft.grounded
    # every quoted sentence is still there, and what was streamed is what the user gets
    for line in quotes.text.split("\n"):
        assert any(s in draft.text for s in drafts.sentences_of(line)) or line.lower().strip(" .[]0123456789") in draft.text.lower()
    assert " ".join(streamed.split()) == " ".join(draft.text.split())


def test_a_loop_is_stopped_and_the_user_gets_the_quotes(assistant):
    looping = Scripted("The WTO members participate in the initiative [1].", pieces=50)
    draft, quotes, _ = answer_with(assistant, looping, "How many WTO members participate in the e-commerce initiative?")
    assert looping.sent < 30  # stopped at the first repeat, not at the token limit
    assert draft.text == quotes.text
    assert any("repeated itself" in w for w in draft.warnings)


@pytest.mark.parametrize(
    "written",
    [
        "The number of WTO members participating in the e-commerce initiative [1].",  # the question, restated
        "Many WTO members take part in the e-commerce initiative [1].",  # a paraphrase of it, with nothing from the passages
    ],
)
def test_a_restatement_is_replaced_by_the_quotes(assistant, written):
    draft, quotes, _ = answer_with(assistant, Scripted(written), "How many WTO members participate in the e-commerce initiative?")
    assert draft.text == quotes.text and "87" in draft.text
    assert any("restated the question" in w for w in draft.warnings)


def test_an_unsupported_sentence_is_replaced_by_the_quotes(assistant):
    draft, quotes, _ = answer_with(assistant, Scripted("Ambassador Yamazaki of Japan chaired the meetings [1]. He was later elected Prime Minister of Norway in 2031 [1]."), "Who chaired the meetings of the WTO e-commerce negotiations?")
    assert draft.text == quotes.text
    assert any("not supported" in w for w in draft.warnings)


def test_no_answer_repeats_a_sentence():
    assert drafts.repeats("Tariffs fell [1]. Tariffs fell [2].")
    assert drafts.repeats("1. Paperless customs\n1. Paperless customs")
    assert not drafts.repeats("Tariffs fell by 3% [1].\n\nParcel tariffs fell by 3% in 2030. [1]")
    # a sentence of the model's that a quote says again (nearly word for word) is not said twice
    quotes = "Graham returned to the WWWF in April 1977 after an agreement with McMahon. [1]\nThe council met in Oslo. [2]"
    assert drafts.join("He returned to the WWWF in April 1977 after an agreement with McMahon [1].", quotes) == quotes
    assert drafts.join("He returned in 1977 [1]. Graham returned to the WWWF in April 1977 after an agreement with McMahon [1].", quotes) == f"He returned in 1977 [1].\n\n{quotes}"


def test_a_fragment_left_when_a_copy_is_cut_is_not_shown():
    # seen on QuAC: "Does he have any children?" answered "He [1]." in front of the quotes
    quotes = "He and his wife took flageolet lessons from master Thomas Greeting. [1]"
    assert drafts.join("He [1]. He and his wife took flageolet lessons from master Thomas Greeting [1].", quotes) == quotes
    assert drafts.join(". He and his wife took flageolet lessons from master Thomas Greeting [1].", quotes) == quotes
    assert drafts.join("In 1665 [1]. He and his wife took flageolet lessons from master Thomas Greeting [1].", quotes) == f"In 1665 [1].\n\n{quotes}"


def test_a_follow_up_answered_with_the_last_answer_again_gets_the_quotes(assistant):
    first = "Who chaired the meetings of the WTO e-commerce negotiations?"
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": "Ambassador Kazuyuki Yamazaki of Japan chaired the meetings [1]."}]
    follow_up = assistant.standalone("What did he emphasize?", history)
    retrieved = assistant.retrieve(follow_up, history=history)
    n = next(n for n, p in enumerate(retrieved.passages, start=1) if "Yamazaki" in p.text)
    extractive = Extractive(assistant.index, assistant.prompts)

    def answer(written):
        backend = Generative(Scripted(written), extractive, assistant.settings, assistant.embedder, assistant.prompts)
        return list(backend.run(retrieved))[-1]

    again = answer(f"Ambassador Kazuyuki Yamazaki of Japan chaired the meetings [{n}].")
    assert again.text == extractive.answer(retrieved, extractive.score_sentences(retrieved)).text
    assert any("repeated the last answer" in w for w in again.warnings)
    new = f"Yamazaki emphasized the importance of expediting work on achieving consensus [{n}]."
    assert answer(new).text.startswith(new)


def test_the_model_answer_is_cut_after_two_sentences():
    assert drafts.cut("It fell by 3% [1]. It was in 2030 [2].") is None  # two: keep writing, it may end there
    assert drafts.cut("It fell by 3% [1]. It was in 2030 [2]. The council") == "It fell by 3% [1]. It was in 2030 [2]."
    assert drafts.cut("They agreed on:\n1. Paperless customs\n2. Drone") == "They agreed on:\n1. Paperless customs"


class Doubtful(Scripted):
    """Fault injection: a model whose judge says the quotes do not answer."""

    def judge(self, messages):
        return 0.1


def test_below_the_judge_threshold_the_question_is_refused_without_writing(assistant):
    from dataclasses import replace

    settings = replace(assistant.settings, judge_threshold=0.5)
    generator = Doubtful("Ambassador Kazuyuki Yamazaki chaired the meetings [1].")
    backend = Generative(generator, Extractive(assistant.index, assistant.prompts), settings, assistant.embedder, assistant.prompts)
    draft = list(backend.run(assistant.retrieve("Who chaired the meetings of the WTO e-commerce negotiations?")))[-1]
    assert draft.abstained and draft.answerability == 0.1 and generator.sent == 0
    assert "judged that the quoted sentences do not answer it" in draft.text


class Recording(Scripted):
    """Writes a good answer and keeps the messages it was given."""

    def execute(self, messages, options):
        self.messages = messages
        yield from super().execute(messages, options)


def test_style_instructions_reach_the_model_after_the_rules_and_the_answer_is_checked_as_ever(assistant):
    generator = Recording("Ambassador Kazuyuki Yamazaki of Japan chaired the meetings [1].")
    index = assistant.index
    backend = Generative(generator, Extractive(index, assistant.prompts), assistant.settings, assistant.embedder, assistant.prompts)
    out = list(backend.run(assistant.retrieve("Who chaired the meetings of the WTO e-commerce negotiations?"), style="Answer like a pirate."))
    system, user = generator.messages
    assert system["content"] == backend.system  # the rules, unchanged (and still the cached prefix)
    assert "Answer like a pirate." in user["content"] and user["content"].index("pirate") > user["content"].index("Passages:")
    assert out[-1].grounded and out[-1].text.startswith("Ambassador Kazuyuki Yamazaki")


def test_a_date_taken_from_another_passage_is_not_supported(assistant):
    question = "When was the WTO joint statement on e-commerce issued?"
    n = next(n for n, p in enumerate(assistant.retrieve(question).passages, start=1) if "joint statement" in p.text)
    # November 2018 is when the ASEAN agreement was concluded: the sentence joins it to the WTO statement
    written = f"The WTO joint statement on e-commerce was issued in December 2017 and concluded in November 2018 [{n}]."
    draft, quotes, _ = answer_with(assistant, Scripted(written), question)
    assert draft.text == quotes.text and "December 2017" in draft.text
    assert any("no passage supports the model's answer" in w for w in draft.warnings)
