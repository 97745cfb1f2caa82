from app import tokens
from app.chunking import chunk
from app.cleaning import clean

from conftest import FED, SEEDS


def chunks_of(name, size=180, overlap=40):
    original = (SEEDS / name).read_text(encoding="utf-8")
    return original, chunk(clean(original), original, size, overlap, 400)


def test_every_chunk_is_an_exact_span_of_the_original():
    for path in sorted(SEEDS.glob("*.txt")):
        original, chunks = chunks_of(path.name)
        assert chunks
        for c in chunks:
            assert original[c.start : c.end] == c.text
            for start, end, _, _ in c.sentences:
                assert c.start <= start < end <= c.end


def test_session_titles_are_sections():
    _, chunks = chunks_of(FED)
    sections = {c.section for c in chunks}
    assert "25 April 2017 › E-Commerce for Development Ministerial by the Friends of E-Commerce for Development" in sections
    assert "24 April 2017 › Cybersecurity and Cybercrime: New tools for Better Cyberprotection" in sections
    assert "26 April 2017 › Trade and Investment Promotion: at the Crossroads of Digital Disruption" in sections
    # Lines of prose that look a little like titles are not taken for headings.
    titles = {x.split(" › ")[-1] for x in sections}
    assert not any(t.startswith(("The session on the Gender", "The sessions on the last day", "Jack Ma encouraged")) for t in titles)


def test_a_list_stays_with_the_sentence_that_introduces_it():
    _, chunks = chunks_of(FED)
    holding = [c for c in chunks if "Identification of strategies" in c.index_text]
    assert len(holding) == 1
    text = holding[0].index_text
    assert "include:" in text and "7. Access to financing." in text
    kinds = [kind for *_, kind in holding[0].sentences]
    assert kinds.index("intro") < kinds.index("item")


def test_a_long_list_is_split_between_items_and_carries_its_introduction():
    original = (SEEDS / FED).read_text(encoding="utf-8")
    chunks = chunk(clean(original), original, 180, 40, max_list_tokens=120)
    parts = [c for c in chunks if "Payment Solutions" in c.section]
    assert len(parts) >= 2
    for later in parts[1:]:
        assert "following recommendations:" in later.index_text  # the introduction travels along


def test_chunks_respect_the_token_budget_and_overlap():
    _, chunks = chunks_of("003_6f832b08e556fda3.txt", size=120, overlap=40)
    assert len(chunks) >= 3
    for c in chunks:
        body = [s[2] for s in c.sentences]
        assert len(body) == 1 or tokens.count(" ".join(body)) <= 120 + 10
    shared = [set(s[:2] for s in a.sentences) & set(s[:2] for s in b.sentences) for a, b in zip(chunks, chunks[1:])]
    assert any(shared), "consecutive chunks share a sentence of overlap"
