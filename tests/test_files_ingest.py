"""Local files -> documents: PDFs per page, text and Markdown, and every way a file can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from biomed_agent.errors import InvalidInputError, UnreadableFileError
from biomed_agent.retrievers.files import file_record_id, load_file, load_files
from tests.helpers.knowledge import write_pdf


def test_pdf_gives_one_document_per_page_with_citation_metadata(tmp_path: Path) -> None:
    pdf = write_pdf(
        tmp_path / "paper.pdf",
        ["Aspirin (acetylsalicylic acid) inhibits COX-1.", "", "Insulin lowers blood glucose."],
        title="A small paper",
    )
    documents = load_file(pdf)
    assert [d.page_content for d in documents] == [
        "Aspirin (acetylsalicylic acid) inhibits COX-1.",
        "Insulin lowers blood glucose.",
    ]
    assert [d.metadata["page"] for d in documents] == [1, 3]  # the blank page 2 is skipped
    meta = documents[0].metadata
    assert meta["source"] == "file" and meta["title"] == "A small paper"
    assert meta["file_name"] == "paper.pdf" and meta["path"] == str(pdf.resolve())
    assert meta["url"] == pdf.resolve().as_uri()
    assert meta["record_id"] == file_record_id(pdf) == documents[1].metadata["record_id"]


def test_record_id_is_stable_and_path_derived(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = tmp_path / "note.txt"
    note.write_text("text")
    monkeypatch.chdir(tmp_path)
    assert file_record_id(Path("note.txt")) == file_record_id(note)
    assert file_record_id(note) != file_record_id(tmp_path / "other.txt")
    assert len(file_record_id(note)) == 20


def test_markdown_title_and_text_file(tmp_path: Path) -> None:
    md = tmp_path / "review.md"
    md.write_text("Intro line\n# Kinase inhibitors in oncology\n\nEGFR and ALK.\n")
    txt = tmp_path / "plain.txt"
    txt.write_text("\ufeffJust text.\n")  # a byte-order mark is dropped
    [markdown] = load_file(md)
    assert markdown.metadata["title"] == "Kinase inhibitors in oncology"
    assert "page" not in markdown.metadata
    [text] = load_file(txt)
    assert text.page_content == "Just text." and text.metadata["title"] == "plain.txt"


def test_directories_are_recursed_and_failures_collected(tmp_path: Path) -> None:
    root = tmp_path / "papers"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.md").write_text("# beta\nbody")
    (root / "sub" / "image.png").write_bytes(b"\x89PNG")  # ignored inside a directory
    (root / "empty.txt").write_text("  \n")
    write_pdf(root / "scan.pdf", [""])
    loaded = load_files([root, root / "a.txt", tmp_path / "missing.pdf"])
    assert sorted(Path(p).name for p in loaded.files) == ["a.txt", "b.md"]  # a.txt once
    problems = {Path(f.path).name: f.error.message for f in loaded.failures}
    assert set(problems) == {"empty.txt", "scan.pdf", "missing.pdf"}
    assert "the file is empty" in problems["empty.txt"]
    assert "no extractable text" in problems["scan.pdf"] and "OCR" in problems["scan.pdf"]
    assert "no such file" in problems["missing.pdf"]
    assert loaded.failures[0].to_dict()["type"] == "UnreadableFileError"


def test_directory_without_supported_files_is_reported(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b")
    loaded = load_files([tmp_path])
    [failure] = loaded.failures
    assert "holds no .pdf, .txt, .md, .markdown files" in failure.error.message


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("table.csv", b"a,b\n1,2\n", "unsupported file type '.csv'"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "not a readable PDF"),
        ("latin1.txt", "caf\xe9".encode("latin-1"), "not UTF-8 text"),
    ],
)
def test_unusable_files_raise_typed_errors_naming_the_file(
    tmp_path: Path, name: str, content: bytes, fragment: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFileError) as info:
        load_file(path)
    assert isinstance(info.value, InvalidInputError)
    assert str(path) in info.value.message and fragment in info.value.message
    assert info.value.input_name == str(path)


def test_password_protected_pdf_is_refused(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "secret.pdf", ["confidential"], password="s3cret")
    with pytest.raises(UnreadableFileError, match="password-protected"):
        load_file(pdf)


def test_pdf_encrypted_with_an_empty_user_password_is_read(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "open.pdf", ["readable anyway"], password="")
    assert b"/Encrypt" in pdf.read_bytes()
    assert [d.page_content for d in load_file(pdf)] == ["readable anyway"]


def test_a_directory_given_as_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="not a regular file"):
        load_file(tmp_path)
