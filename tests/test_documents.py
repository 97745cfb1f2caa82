from pathlib import Path

import pytest

from app.assistant import Assistant
from app.documents import IngestError, discover, load
from app.settings import Settings


def make_pdf(path: Path, pages: list[str], title: str = "") -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    if title:
        c.setTitle(title)
    for n, page in enumerate(pages, start=1):
        y = 800
        for line in page.split("\n"):
            c.drawString(60, y, line)
            y -= 16
        c.drawString(280, 40, f"{n} | P a g e")
        c.showPage()
    c.save()


def test_html_is_parsed_to_text_with_headings_and_without_scripts(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Trade notes</title><script>alert('x')</script></head><body>"
        "<h2>Digital customs</h2><p>The <b>Lunar</b> customs union adopted e-invoicing in 2030.</p>"
        "<ul><li>first point</li><li>second point</li></ul><style>p{}</style></body></html>",
        encoding="utf-8",
    )
    doc = load(page)
    assert "alert" not in doc.text and "p{}" not in doc.text
    assert "## Digital customs" in doc.text
    assert "The Lunar customs union adopted e-invoicing in 2030." in doc.text
    assert "- first point" in doc.text


@pytest.mark.parametrize("name, content, expected", [
    ("notes.md", "Intro line\n\n# Customs in 2030\n\nText.", "Customs in 2030"),
    ("page.html", "<html><head><title>Trade notes</title></head><body><h1>Other</h1><p>x</p></body></html>", "Trade notes"),
    ("plain.txt", "The ASEAN e-commerce agreement kicks off the process. Member State governments must continue to seize it.\n",
     "The ASEAN e-commerce agreement kicks off the process. Member State governments…"),
])
def test_a_document_is_named_by_its_heading_html_title_or_first_line(tmp_path, name, content, expected):
    (tmp_path / name).write_text(content, encoding="utf-8")
    assert load(tmp_path / name).title == expected


def test_a_pdf_is_named_by_its_metadata_title_else_its_first_line(tmp_path):
    make_pdf(tmp_path / "a.pdf", ["Digital trade report\nSecond line."], title="Cross-border parcels, 2031")
    make_pdf(tmp_path / "b.pdf", ["Digital trade report\nSecond line."])
    assert load(tmp_path / "a.pdf").title == "Cross-border parcels, 2031" and load(tmp_path / "b.pdf").title == "Digital trade report"


def test_pdf_text_is_extracted(tmp_path):
    pdf = tmp_path / "report.pdf"
    make_pdf(pdf, ["The Atlantis Accord covers paperless trade.", "It entered into force in 2029."])
    doc = load(pdf)
    assert doc.format == "pdf"
    assert "Atlantis Accord covers paperless trade" in doc.text and "entered into force in 2029" in doc.text


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("latin1.txt", "Caf\xe9 au lait".encode("latin-1"), "not valid UTF-8"),
        ("empty.txt", b"", "empty"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "not a readable PDF"),
        ("binary.txt", b"abc\x00\x01\x02def", "binary"),
        ("slides.pptx", b"PK\x03\x04", "unsupported file type"),
    ],
)
def test_bad_files_get_a_clear_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=reason) as e:
        load(path)
    assert name in str(e.value)


def test_a_bad_file_never_drops_the_others(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# Ports\n\nThe port of Valdora handles drone cargo.\n", encoding="utf-8")
    (docs / "latin1.txt").write_bytes("Caf\xe9".encode("latin-1"))
    make_pdf(docs / "report.pdf", ["The Atlantis Accord covers paperless trade."])
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    a = Assistant(Settings(index_dir=tmp_path / "index", sources=[docs]), progress=False, embedder=embedder)
    a.ensure_index()
    assert sorted(a.index.documents) == ["good.md", "report.pdf"]
    assert sorted(e.path.rsplit("/", 1)[-1] for e in a.last_build.errors) == ["broken.pdf", "latin1.txt"]
    answer = a.ask("What does the Atlantis Accord cover?")
    assert answer.citations and answer.citations[0].doc == "report.pdf"
    c = answer.citations[0]
    assert a.index.texts["report.pdf"][c.start : c.end] == c.text  # offsets refer to the extracted text


def test_a_file_that_stops_reading_keeps_its_last_good_version(tmp_path, embedder, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The Orinoco Pact covers data flows.\n", encoding="utf-8")
    (docs / "b.txt").write_text("The Danube Charter covers parcels.\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index", sources=[docs])
    Assistant(settings, progress=False, embedder=embedder).ensure_index()
    (docs / "a.txt").write_text("The Orinoco Pact now also covers payments.\n", encoding="utf-8")
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: (_ for _ in ()).throw(PermissionError(13, "Permission denied")) if p.name == "a.txt" else real(p))
    a = Assistant(settings, progress=False, embedder=embedder)
    a.ensure_index()
    assert "a.txt" in a.index.documents and a.last_build.kept_after_error == ["a.txt"]
    assert "Permission denied" in str(a.last_build.errors[0])


def test_missing_paths_and_name_clashes_are_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        discover([tmp_path / "nowhere"])
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    (tmp_path / "x" / "same.txt").write_text("one", encoding="utf-8")
    (tmp_path / "y" / "same.txt").write_text("two", encoding="utf-8")
    with pytest.raises(IngestError, match="share the name"):
        discover([tmp_path / "x", tmp_path / "y"])
