import re

from app.cleaning import clean

from conftest import FED, SEEDS


def test_page_footer_and_report_code_are_removed():
    original = (SEEDS / FED).read_text(encoding="utf-8")
    assert "12 | P a g e" in original and "UNCTAD/DTL/STICT/2017/7" in original
    text = clean(original).text
    assert "P a g e" not in text
    assert "UNCTAD/DTL/STICT/2017/7" not in text
    # The page break no longer separates list item 11 from item 12.
    assert re.search(r"not optional\.\n12\. Governments", text)
    # A footer glued to a word the page break split: "including the e17 | P a g e\n commerce discussion".
    assert "including the e-commerce discussion at WTO" in text


def test_split_list_numbers_are_put_back_on_their_items():
    text = clean((SEEDS / FED).read_text(encoding="utf-8")).text
    assert "include:\n1. Identification of strategies for e-commerce readiness\n2. Access to ICT infrastructure" in text
    assert "7. Access to financing." in text
    # Wrapped items are joined back into one item each (12 items, 18 lines in the original).
    assert "4. Practical solutions such as foreign entities collectively owned by SMEs from developing countries to open shared access" in text
    assert "12. Solutions such as the e-Residency that gives entrepreneurs a digital identity for running a business from abroad" in text


def test_words_hyphenated_across_lines_are_joined():
    text = clean("The commu-\nnication of e-\ncommerce rules.\n").text
    assert "communication" in text
    assert "e-commerce" in text


def test_every_clean_span_maps_back_to_the_same_words():
    original = (SEEDS / FED).read_text(encoding="utf-8")
    c = clean(original)
    for m in re.finditer(r"[^\n]+", c.text):
        span = c.span(m.start(), m.end())
        assert span is not None
        start, end = span
        # Same words, possibly with list numbers that sat elsewhere in the original in between.
        words = re.findall(r"\w+", m.group())
        found = re.findall(r"\w+", original[start:end])
        assert words[-1] == found[-1] and set(words) <= set(found)


def test_synthetic_characters_have_no_origin():
    c = clean("1.\n2.\n\nfirst item\nsecond item\n")
    assert c.text.startswith("1. first item\n2. second item")
    space = c.text.index(" ")
    assert c.origin[space] == -1
    assert c.span(0, len("1. first item")) == (0, len("1.\n2.\n\nfirst item"))
