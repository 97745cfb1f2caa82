"""The LLM backends for real: the local model in-process, and llama.cpp's OpenAI-compatible server."""

import pytest

from app.answers import Finished, PassagesFound, TextDelta
from app.assistant import Assistant
from app.backends.local import model_file
from app.settings import Settings

from conftest import FED, SEEDS
from servers import faulty_server, llama_server
from test_answers import assert_contract


def test_local_model_answers_fed_with_a_citation(llm_assistant):
    answer = llm_assistant.ask("What did FED propose?")
    assert answer.backend == "local" and not answer.abstained and answer.grounded
    assert "roadmap" in answer.answer.lower()
    assert answer.citations and answer.citations[0].doc == FED
    assert "roadmap with seven priority issues" in " ".join(c.text for c in answer.citations)
    assert answer.prompt_tokens < 1200  # selected sentences, not whole chunks
    assert_contract(answer)


@pytest.mark.parametrize("question", ["What did the Federal Reserve propose?", "Who won the 2018 FIFA World Cup?"])
def test_local_model_refuses_what_the_collection_does_not_say(llm_assistant, question):
    answer = llm_assistant.ask(question)
    assert answer.abstained and not answer.citations
    assert answer.answer.startswith("The collection does not answer this question")


def test_stream_gives_passages_first_then_text_then_the_checked_answer(llm_assistant):
    events = list(llm_assistant.stream("Who chaired the WTO e-commerce meetings?"))
    assert isinstance(events[0], PassagesFound) and len(events[0].passages) == 5
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) >= 3  # token by token, not one block
    assert isinstance(events[-1], Finished)
    answer = events[-1].answer
    assert "Yamazaki" in "".join(deltas) and "Yamazaki" in answer.answer
    assert answer.timings_ms["first_token"] < answer.timings_ms["answer"]


def test_the_local_judge_prefers_a_text_that_answers(llm_assistant):
    generator = llm_assistant.backend("local").generator
    text = "Ministers from FED member countries proposed a roadmap with seven priority issues for sustainable economic development."
    ask = lambda q: [{"role": "user", "content": llm_assistant.prompts.render("judge", text=text, question=q)}]  # noqa: E731
    answers, unrelated = generator.judge(ask("What did FED propose?")), generator.judge(ask("Who won the 2018 FIFA World Cup?"))
    assert 0 <= unrelated < answers <= 1


def test_follow_up_borrows_the_conversation_and_is_answered(llm_assistant):
    history = [
        {"role": "user", "content": "What is eWTP?"},
        {"role": "assistant", "content": "eWTP is Alibaba's electronic world trade platform [1]."},
    ]
    answer = llm_assistant.ask("Where did it launch its first hub?", history=history)
    assert "ewtp" in answer.standalone_question.lower() or "electronic world trade platform" in answer.standalone_question.lower()
    assert "Malaysia" in answer.answer and not answer.abstained


def test_follow_up_about_something_absent_is_refused(llm_assistant):
    history = [
        {"role": "user", "content": "What did FED propose?"},
        {"role": "assistant", "content": "A roadmap with seven priority issues [1]."},
    ]
    answer = llm_assistant.ask("And what did the Federal Reserve say about it?", history=history)
    assert answer.abstained


def test_missing_model_falls_back_to_extractive_with_a_warning(seed_index_dir, embedder, tmp_path):
    settings = Settings(index_dir=seed_index_dir, sources=[SEEDS], llm_model=str(tmp_path / "absent.gguf"))
    answer = Assistant(settings, progress=False, embedder=embedder).ask("What did FED propose?")
    assert answer.backend == "extractive"
    assert any("local backend failed" in w and "absent.gguf" in w for w in answer.warnings)
    assert "Access to financing" in answer.answer


@pytest.fixture(scope="module")
def llama_base_url():
    with llama_server(str(model_file("qwen2.5-0.5b", Settings().model_dir))) as base:
        yield base


def test_openai_backend_against_a_real_llama_cpp_server(seed_index_dir, embedder, llama_base_url):
    settings = Settings(index_dir=seed_index_dir, sources=[SEEDS], backend="openai", openai_base_url=llama_base_url, openai_model="qwen")
    a = Assistant(settings, progress=False, embedder=embedder)
    events = list(a.stream("What did FED propose?"))
    assert sum(isinstance(e, TextDelta) for e in events) >= 3  # streamed over SSE
    answer = events[-1].answer
    assert answer.backend == "openai" and not answer.warnings[1:]
    assert "roadmap" in answer.answer.lower() and answer.citations and answer.citations[0].doc == FED
    assert_contract(answer)


@pytest.mark.parametrize("mode, message", [("hang", "did not answer within"), ("500", "HTTP 500"), ("garbage", "not a server-sent event"), ("bad-event", "not a chat-completion chunk"),
                                           ("cut", "before the answer was complete")])
def test_a_failing_server_gives_the_extractive_answer_with_a_warning(seed_index_dir, embedder, mode, message):
    with faulty_server(mode) as (base, calls):
        settings = Settings(index_dir=seed_index_dir, sources=[SEEDS], backend="openai", openai_base_url=base, openai_timeout=1.0, openai_retries=1)
        answer = Assistant(settings, progress=False, embedder=embedder).ask("What did FED propose?")
    assert answer.backend == "extractive"
    assert any(message in w for w in answer.warnings), answer.warnings
    assert "Access to financing" in answer.answer and "roadmap of seven" not in answer.answer  # nothing of a cut stream
    if mode == "500":
        assert len(calls) == 2  # one bounded retry


def test_a_server_that_is_down_gives_the_extractive_answer(seed_index_dir, embedder):
    from servers import free_port

    settings = Settings(index_dir=seed_index_dir, sources=[SEEDS], backend="openai", openai_base_url=f"http://127.0.0.1:{free_port()}/v1", openai_retries=0)
    answer = Assistant(settings, progress=False, embedder=embedder).ask("What is eWTP?")
    assert answer.backend == "extractive" and any("cannot reach" in w for w in answer.warnings)
