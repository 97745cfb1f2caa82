"""The chat page in a real browser: Debian's chromium driven by Playwright, against `citeqa serve` with the local model."""

import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from conftest import FED, ROOT
from servers import citeqa_server, poll

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("CITEQA_TEST_ARTIFACTS", ROOT / "artifacts"))
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("chromium is required for the browser tests in CI: apt-get install chromium (make test does)")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def server(seed_index_dir, tmp_path_factory):
    with citeqa_server(seed_index_dir, tmp_path_factory.mktemp("browser-server"), backend="local") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def ask(page, question: str, backend: str | None = None):
    if backend:
        page.select_option("#backend", backend)
    turns = page.locator(".turn").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    turn = page.locator(".turn").nth(turns)
    turn.and_(page.locator(".turn.done")).wait_for(timeout=120_000)
    return turn


def test_ask_stream_and_open_a_citation_at_its_span(server, page):
    page.goto(server)
    turn = ask(page, "What did FED propose?")
    answer = turn.locator(".answer")
    assert "roadmap" in answer.inner_text().lower()
    assert page.locator("#passages li").count() == 5
    passages_ms, first_ms, done_ms = (int(turn.get_attribute(a)) for a in ("data-passages-ms", "data-first-token-ms", "data-done-ms"))
    assert passages_ms <= first_ms <= done_ms
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timings.txt").write_text(f"passages {passages_ms} ms, first token {first_ms} ms, answer done {done_ms} ms\n")

    cite = answer.locator("a.cite").first
    href = cite.get_attribute("href")
    cite.click()
    frame = page.frame_locator("#viewer")
    mark = frame.locator("mark#hl")
    mark.wait_for(timeout=10_000)
    start, end = (int(x) for x in href.split("?")[1].split("#")[0].replace("start=", "").replace("end=", "").split("&"))
    text = httpx.get(f"{server}/api/documents/{FED}").json()["text"]
    assert mark.inner_text().split() == text[start:end].split()
    assert "Friends of E-Commerce for Development" in frame.locator(".where .section").inner_text()
    assert mark.evaluate("m => { const r = m.getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight; }")
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)


def test_follow_up_and_refusal(server, page):
    page.goto(server)
    ask(page, "What is eWTP?", backend="extractive")
    follow = ask(page, "Where did it launch its first hub?", backend="extractive")
    assert "Malaysia" in follow.locator(".answer").inner_text()
    refused = ask(page, "What did the Federal Reserve propose?")
    assert refused.locator(".answer.refusal").count() == 1
    assert "does not answer" in refused.locator(".answer").inner_text()


def test_each_answer_keeps_its_own_sources_titles_and_a_reload_keeps_the_conversation(server, page):
    page.goto(server)
    first = ask(page, "What did FED propose?", backend="extractive")
    sources = first.locator(".sources li")
    assert sources.count() >= 1
    title = sources.first.locator("a").inner_text()
    assert title and not title.endswith(".txt") and FED in sources.first.locator(".where").inner_text()  # the title, the file as detail
    assert all(not t.endswith(".txt") for t in page.locator("#passages li a").all_inner_texts())
    ask(page, "What is eWTP?", backend="extractive")
    # The first answer's [1] still opens the first answer's passage, though the panel now shows the second's.
    assert first.locator(".sources li").count() == sources.count() and FED in first.locator("a.cite").first.get_attribute("href")
    first.locator(".sources li a").first.click()
    frame = page.frame_locator("#viewer")
    frame.locator("mark#hl").wait_for(timeout=10_000)
    assert frame.locator(".doc-title").inner_text() == title and frame.locator(".doc-name").inner_text() == FED
    page.reload()
    assert page.locator(".turn").count() == 2 and page.locator(".turn").first.locator(".sources li").count() == sources.count()
    follow = ask(page, "Where did it launch its first hub?", backend="extractive")  # "it": the conversation survived the reload
    assert "Malaysia" in follow.locator(".answer").inner_text()
    refused = ask(page, "What did the Federal Reserve propose?", backend="extractive")
    assert refused.locator(".answer.refusal").count() == 1 and page.locator("#viewer").get_attribute("src") == "about:blank"
    page.click("#new-chat")
    page.reload()
    assert page.locator(".turn").count() == 0


def test_stop_ends_the_answer_and_the_server_stops_writing(server, page):
    health = lambda: httpx.get(f"{server}/api/health").json()["generations"]  # noqa: E731
    before = health()["pieces_written"]
    page.goto(server)
    page.select_option("#backend", "local")
    page.fill("#question", "What did FED propose? Explain each of the seven issues in detail.")
    page.press("#question", "Enter")
    turn = page.locator(".turn").last
    page.wait_for_function("() => document.querySelector('.turn:last-child .answer').textContent.length > 0", timeout=120_000)
    page.click("#stop")
    turn.locator(".badge", has_text="stopped").wait_for(timeout=10_000)
    assert poll(health, lambda h: h["in_progress"] == 0)["in_progress"] == 0
    stopped = health()["pieces_written"] - before
    full = httpx.post(f"{server}/api/ask", json={"question": "What did FED propose? Explain each of the seven issues in detail.", "backend": "local"},
                      timeout=120)
    assert full.status_code == 200 and not full.json()["abstained"]
    written = health()["pieces_written"] - before - stopped
    assert 0 < stopped < written, (stopped, written)  # the stopped answer was cut short on the server too
    assert not page.locator("#stop").is_visible() and page.locator("#send").is_enabled()


def test_dark_mode_follows_the_system(browser, server):
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    page.goto(server)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(13, 17, 23)"
    turn = ask(page, "Who chaired the WTO e-commerce meetings?", backend="extractive")
    assert turn.locator(".answer").evaluate("a => getComputedStyle(a).backgroundColor") == "rgb(22, 27, 34)"
    page.screenshot(path=str(ARTIFACTS / "chat-dark.png"))
    context.close()


def test_upload_then_find_it_by_a_question(server, page, tmp_path):
    doc = tmp_path / "quokka.md"
    doc.write_text("# Drone rules\n\nThe Quokka Protocol sets noise limits for delivery drones over cities.\n", encoding="utf-8")
    page.goto(f"{server}/docs")
    page.set_input_files("#file", str(doc))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("text=Indexed quokka.md", timeout=120_000)
    page.goto(server)
    turn = ask(page, "What does the Quokka Protocol set limits for?", backend="extractive")
    assert "noise limits" in turn.locator(".answer").inner_text()
    assert "quokka.md" in turn.locator("a.cite").first.get_attribute("href")


def test_documents_page_uploads_several_files_and_deletes_one(browser, server, tmp_path):
    files = []
    for name, text in (("heron.md", "# Heron accord\n\nThe Heron Accord covers drone parcels."), ("ibis.md", "# Ibis rules\n\nThe Ibis Rules cover cold chains.")):
        files.append(tmp_path / name)
        files[-1].write_text(text + "\n", encoding="utf-8")
    context = browser.new_context()
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())  # the "Delete …?" confirmation
    page.goto(f"{server}/docs")
    page.set_input_files("#file", [str(f) for f in files])
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("text=Indexed heron.md", timeout=120_000)
    page.wait_for_load_state("load")
    page.locator("td.doc-name", has_text="ibis.md").wait_for()
    assert page.locator("td a", has_text="Heron accord").count() == 1  # the title, linked; the file name beside it
    page.locator("tr", has_text="ibis.md").locator("button.delete").click()
    page.wait_for_selector("text=Deleted ibis.md", timeout=120_000)
    page.reload()
    assert page.locator("td.doc-name", has_text="ibis.md").count() == 0 and page.locator("td.doc-name", has_text="heron.md").count() == 1
    assert page.locator("tr", has_text=FED).locator("button.delete").count() == 0  # a source document has no Delete
    context.close()


def test_the_api_page_renders_the_operations(server, page):
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{server}/api/docs")
    page.locator(".opblock").first.wait_for(timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/ask" in p for p in paths) and any("/v1/chat/completions" in p for p in paths), paths
    assert not blocked, blocked


def test_hostile_text_is_shown_never_run(server, page):
    hostile = b"The Tortuga memo reads: <script>alert('xss')</script> and <img src=x onerror=alert('img')> in full.\n"
    r = httpx.post(f"{server}/api/documents", files={"file": ("tortuga.txt", hostile, "text/plain")}, timeout=120)
    assert r.status_code == 201, r.text
    page.goto(server)
    turn = ask(page, "What does the Tortuga memo read?", backend="extractive")
    assert "<script>" in turn.locator(".answer").inner_text()  # shown as text
    turn.locator("a.cite").first.click()
    page.frame_locator("#viewer").locator("mark#hl").wait_for()
    page.goto(f"{server}/docs/tortuga.txt?start=0&end=40")
    page.wait_for_timeout(300)
    assert page.dialogs == []
    assert page.locator("script").count() == 0  # no script element came from the document


def test_narrow_screen_and_keyboard(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(server)
    assert page.locator("#question").is_visible()
    box = page.locator("#question").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    turn = ask(page, "Who chaired the WTO e-commerce meetings?", backend="extractive")
    assert "Yamazaki" in turn.locator(".answer").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 392
    page.screenshot(path=str(ARTIFACTS / "chat-narrow.png"), full_page=True)
    context.close()


def test_the_eval_report_shows_its_headline_the_changes_per_tag_and_a_plot(page, seed_index_dir, tmp_path):
    from test_cli import run

    r = run("eval", "--backend", "extractive", "-k", "1", "--out", str(tmp_path / "report"), index_dir=seed_index_dir)
    assert r.returncode == 0, r.stderr
    page.goto((tmp_path / "report" / "report.html").as_uri())
    headline = page.locator(".headline").inner_text()
    cases = len((Path(__file__).parent.parent / "eval" / "seeds" / "gold.jsonl").read_text(encoding="utf-8").splitlines())
    assert re.search(rf"\d+/{cases} passed, fact accuracy 0\.\d+ \(-0\.\d+ against the baseline's 0\.\d+\); [1-9]\d* newly failing", headline), headline
    failing = page.locator("h2.fail + ul li")
    assert failing.count() >= 1
    failing.first.locator("a").click()  # jumps to that question's row
    assert page.evaluate("location.hash").startswith("#q-")
    tags = page.locator("table:has(th:text('tag')) tr td:first-child").all_inner_texts()
    assert {"(all)", "multi-turn", "unanswerable"} <= set(tags)
    plot = page.locator("img[alt^='metrics with their 95% intervals']")
    assert plot.evaluate("img => img.complete && img.naturalWidth") > 400
    assert page.get_by_text("of the unanswerable questions, the share refused").is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto((tmp_path / "report" / "report.html").as_uri())
    page.screenshot(path=str(ARTIFACTS / "eval-report.png"), full_page=False)
