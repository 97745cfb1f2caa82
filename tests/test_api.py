"""The HTTP API of a real `citeqa serve` on 127.0.0.1, used as clients use it (httpx and the openai client)."""

import httpx
import pytest

from conftest import FED, SEEDS
from servers import citeqa_server, poll
from test_answers import assert_contract


@pytest.fixture(scope="module")
def server(seed_index_dir, tmp_path_factory):
    with citeqa_server(seed_index_dir, tmp_path_factory.mktemp("server"), backend="extractive") as base:
        yield base


def test_health_says_what_is_ready(server):
    h = httpx.get(f"{server}/api/health").json()
    assert h["status"] == "ok" and h["index"]["documents"] == 4 and h["backends"]["extractive"] == "ready"


def test_ask_returns_the_cli_contract(server):
    r = httpx.post(f"{server}/api/ask", json={"question": "What did FED propose?"}, timeout=60)
    assert r.status_code == 200
    from app.answers import Answer, Citation, Passage

    data = r.json()
    answer = Answer(**{**data, "citations": [Citation(**c) for c in data["citations"]], "passages": [Passage(**p) for p in data["passages"]]})
    assert "Access to financing" in answer.answer and answer.citations[0].doc == FED
    assert_contract(answer)


def test_ask_stream_sends_passages_then_tokens_then_the_answer(server):
    events = []
    with httpx.stream("POST", f"{server}/api/ask/stream", json={"question": "What is eWTP?"}, timeout=60) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event:"):
                events.append(line[6:].strip())
    assert events[0] == "passages" and events[-1] == "answer" and "token" in events


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"question": ""}, 400, "the question is empty"),
        ({"question": "x" * 2001}, 400, "limit is 2000"),
        ({"question": "y" * 100_000}, 400, "limit is 2000"),
        ({"question": "\x00\x01\x1b  \t"}, 400, "the question is empty"),
        ({"question": "What?", "backend": "nonesuch"}, 400, "unknown backend"),
        ({"question": 42}, 422, "question"),
        ({"question": "What?", "k": 0}, 422, "k"),
        ({"question": "What?", "history": [{"role": "system", "content": "x"}]}, 422, "history"),
        ({}, 422, "question"),
    ],
)
def test_bad_requests_get_json_errors(server, body, status, message):
    r = httpx.post(f"{server}/api/ask", json=body)
    assert r.status_code == status and message in r.json()["error"]


@pytest.mark.parametrize(
    "raw, status, message",
    [(b"{not json", 422, "JSON decode error"), (b'{"question": "caf\xe9"}', 400, "UTF-8"), (b"\xff\xfe\x00", 400, "UTF-8")],
)
def test_malformed_json_and_invalid_utf8_are_refused_clearly(server, raw, status, message):
    r = httpx.post(f"{server}/api/ask", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == status and message in r.json()["error"]


def test_passages_and_documents(server):
    p = httpx.get(f"{server}/api/passages/{FED}:20").json()
    assert p["doc"] == FED and (SEEDS / FED).read_text(encoding="utf-8")[p["start"] : p["end"]] == p["text"]
    docs = httpx.get(f"{server}/api/documents").json()
    assert {d["doc"] for d in docs} == {f.name for f in SEEDS.glob("*.txt")}
    d = httpx.get(f"{server}/api/documents/{FED}").json()
    assert d["text"] == (SEEDS / FED).read_text(encoding="utf-8")
    for bad in ["../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "/etc/passwd", "nope.txt", "a%00b.txt", FED + "%00"]:
        assert httpx.get(f"{server}/api/documents/{bad}").status_code == 404
        assert httpx.get(f"{server}/api/passages/{bad}").status_code == 404
    assert httpx.get(f"{server}/docs/..%2F..%2Fetc%2Fpasswd").status_code == 404


@pytest.mark.parametrize(
    "name, content, status, message",
    [
        ("empty.txt", b"", 422, "empty"),
        ("binary.txt", b"\x00\x01\x02\xff\xfe", 422, "UTF-8"),
        ("broken.pdf", b"%PDF-1.4 nonsense", 422, "not a readable PDF"),
        ("tool.exe", b"MZ...", 415, "unsupported file type"),
        ("big.txt", b"a" * 5_000_001, 413, "limit"),
        (FED, b"duplicate name", 409, "already indexed"),
        ("..", b"x", 400, "not allowed"),
    ],
)
def test_bad_uploads_are_refused_clearly(server, name, content, status, message):
    r = httpx.post(f"{server}/api/documents", files={"file": (name, content, "application/octet-stream")}, timeout=60)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]
    assert len(httpx.get(f"{server}/api/documents").json()) >= 4


def test_an_uploaded_document_is_searchable_at_once(server):
    text = "# Port notes\n\nThe Port of Valdora opened a drone cargo terminal in 2031, run by the Valdora Harbour Authority.\n"
    r = httpx.post(f"{server}/api/documents", files={"file": ("valdora.md", text.encode(), "text/markdown")}, timeout=120)
    assert r.status_code == 201, r.text
    assert r.json()["doc"] == "valdora.md"
    answer = httpx.post(f"{server}/api/ask", json={"question": "Who runs the Valdora drone cargo terminal?"}, timeout=60).json()
    assert answer["citations"][0]["doc"] == "valdora.md" and "Valdora Harbour Authority" in answer["answer"]
    assert httpx.post(f"{server}/api/documents", files={"file": ("valdora.md", b"again", "text/markdown")}).status_code == 409


def test_an_upload_can_be_deleted_and_a_source_document_cannot(server):
    text = b"# Lantern notes\n\nThe Lantern Compact caps parcel fees at nine cents.\n"
    assert httpx.post(f"{server}/api/documents", files={"file": ("lantern.md", text, "text/markdown")}, timeout=120).status_code == 201
    listed = {d["doc"]: d for d in httpx.get(f"{server}/api/documents").json()}
    assert listed["lantern.md"]["uploaded"] and listed["lantern.md"]["title"] == "Lantern notes" and not listed[FED]["uploaded"]
    r = httpx.delete(f"{server}/api/documents/lantern.md", timeout=120)
    assert r.status_code == 200 and r.json() == {"doc": "lantern.md", "removed": True}
    assert "lantern.md" not in [d["doc"] for d in httpx.get(f"{server}/api/documents").json()]
    answer = httpx.post(f"{server}/api/ask", json={"question": "What does the Lantern Compact cap?"}, timeout=60).json()
    assert answer["abstained"] and not any(c["doc"] == "lantern.md" for c in answer["citations"])
    r = httpx.delete(f"{server}/api/documents/{FED}")
    assert r.status_code == 409 and "not an upload" in r.json()["error"] and "--remove" in r.json()["error"]
    assert httpx.delete(f"{server}/api/documents/nonesuch.txt").status_code == 404
    assert FED in [d["doc"] for d in httpx.get(f"{server}/api/documents").json()]


def test_openai_client_talks_to_the_server(server):
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key="unused")
    assert "citeqa-extractive" in [m.id for m in client.models.list().data]
    reply = client.chat.completions.create(model="citeqa-extractive", messages=[{"role": "user", "content": "What did FED propose?"}])
    content = reply.choices[0].message.content
    assert "Access to financing" in content and "Sources:\n[1] [" in content and f") — {FED}, characters " in content
    link = content.split("Sources:\n[1] [", 1)[1].split("](", 1)[1].split(")", 1)[0]
    assert link.startswith(f"{server}/docs/{FED}?start=") and httpx.get(link).status_code == 200  # a link to the passage in its document
    assert reply.usage.completion_tokens > 10 and reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    citations = reply.model_extra["citations"]
    assert citations[0]["doc"] == FED and citations[0]["n"] == 1
    stream = client.chat.completions.create(
        model="citeqa-extractive", stream=True,
        messages=[{"role": "user", "content": "What is eWTP?"}, {"role": "assistant", "content": "A platform [1]."}, {"role": "user", "content": "Where did it launch its first hub?"}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "Malaysia" in text and "Sources:" in text
    assert chunks[-1].model_extra["citations"]
    import openai

    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-nonesuch", messages=[{"role": "user", "content": "hi"}])
    assert "does not exist" in e.value.message  # the server's words reach the client, in OpenAI's error shape
    parts = client.chat.completions.create(model="citeqa-extractive", messages=[{"role": "user", "content": [{"type": "text", "text": "What is eWTP?"}]}])
    assert "Malaysia" in parts.choices[0].message.content
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="citeqa-extractive", n=2, messages=[{"role": "user", "content": "What is eWTP?"}])
    assert "one answer per request" in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="citeqa-extractive", messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}])
    assert "only text content parts" in e.value.message
    assert "citeqa-openai" not in [m.id for m in client.models.list().data]  # no server configured: it cannot answer


def test_openai_client_limits_usage_and_system_messages(server):
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key="unused")
    ask = [{"role": "user", "content": "What did FED propose?"}]
    full = client.chat.completions.create(model="citeqa-extractive", messages=ask).choices[0].message.content
    short = client.chat.completions.create(model="citeqa-extractive", messages=ask, max_tokens=8)
    assert short.choices[0].finish_reason == "length" and short.usage.completion_tokens <= 8 and full.startswith(short.choices[0].message.content)
    assert 0 < len(short.choices[0].message.content) < len(full)
    cut = client.chat.completions.create(model="citeqa-extractive", messages=ask, stop=["Sources:"])
    assert cut.choices[0].message.content == full.split("Sources:")[0] and cut.choices[0].finish_reason == "stop"
    chunks = list(client.chat.completions.create(model="citeqa-extractive", messages=ask, stream=True, max_completion_tokens=8,
                                                 stream_options={"include_usage": True}))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == short.choices[0].message.content  # a stop split across pieces or a limit: the same as not streaming
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == short.usage.completion_tokens
    styled = client.chat.completions.create(model="citeqa-extractive", messages=[{"role": "system", "content": "Answer in French."}, *ask])
    assert styled.choices[0].message.content == full and "style instructions were not applied" in " ".join(styled.model_extra["warnings"])


def test_pages_are_escaped_and_locked_down(server):
    hostile = b"Notes <script>alert('x')</script> and <img src=x onerror=alert(2)> end.\n"
    assert httpx.post(f"{server}/api/documents", files={"file": ("hostile.txt", hostile, "text/plain")}, timeout=120).status_code == 201
    page = httpx.get(f"{server}/docs/hostile.txt?start=0&end=20")
    assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text and "<img src=x" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert httpx.get(f"{server}/docs/hostile.txt?start=5&end=99999").status_code == 400


def test_openapi_documents_the_api_without_a_cdn(server):
    spec = httpx.get(f"{server}/api/openapi.json").json()
    for path in ["/api/ask", "/api/ask/stream", "/api/passages/{passage_id}", "/api/documents", "/api/documents/{doc}", "/v1/chat/completions", "/v1/models", "/api/health"]:
        assert path in spec["paths"], path
    page = httpx.get(f"{server}/api/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert httpx.get(f"{server}/static/swagger/swagger-ui-bundle.js").status_code == 200


def test_a_server_answers_while_its_llm_loads_and_health_says_when_it_is_ready(seed_index_dir, tmp_path):
    with citeqa_server(seed_index_dir, tmp_path, backend="local") as base:
        first = httpx.get(f"{base}/api/health").json()
        quoted = httpx.post(f"{base}/api/ask", json={"question": "What is eWTP?", "backend": "extractive"}, timeout=60)
        h = poll(lambda: httpx.get(f"{base}/api/health").json(), lambda h: h["backends"]["local"] == "ready", seconds=180)
    assert first["backends"]["local"] in ("loading", "ready") and quoted.status_code == 200 and "Malaysia" in quoted.json()["answer"]
    assert h["default_backend"] == "local" and h["backends"]["local"] == "ready" and h["backends"]["openai"] == "not loaded yet"
