"""Builders for knowledge-store tests: documents, small PDFs, a real Chroma server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

# Short real-world-like records about distinct topics, so nearest neighbours are unambiguous.
TOPICS: dict[tuple[str, str], str] = {
    ("pubchem", "2244"): "Aspirin (acetylsalicylic acid) irreversibly inhibits cyclooxygenase "
    "COX-1 and COX-2, reducing prostaglandin synthesis; used for pain, fever and to "
    "prevent myocardial infarction.",
    ("uniprot", "P01308"): "Insulin, encoded by the INS gene in Homo sapiens, is a peptide "
    "hormone that lowers blood glucose by promoting glucose uptake in muscle and fat.",
    ("pubmed", "30108519"): "A randomized trial of statin therapy showed that lowering LDL "
    "cholesterol reduced cardiovascular events in adults with hypercholesterolemia.",
    ("uniprot", "P04637"): "Cellular tumor antigen p53 (TP53) is a tumor suppressor that "
    "induces cell cycle arrest and apoptosis in response to DNA damage.",
    ("pubmed", "29963580"): "Ebola virus disease outbreaks: transmission through bodily "
    "fluids, case fatality and the efficacy of ring vaccination in West Africa.",
}


def make_document(source: str, record_id: str, text: str, **metadata: Any) -> Document:
    """A document in the clients' contract: source, record_id, title, url and scalars."""
    return Document(
        page_content=text,
        metadata={
            "source": source,
            "record_id": record_id,
            "title": f"{source} {record_id}",
            "url": f"https://example.org/{source}/{record_id}",
            **metadata,
        },
    )


def topic_documents() -> list[Document]:
    return [make_document(source, rid, text) for (source, rid), text in TOPICS.items()]


def write_pdf(
    path: Path, pages: list[str], *, title: str | None = None, password: str | None = None
) -> Path:
    """A real PDF with one line of Helvetica text per page (empty string: a blank page)."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for text in pages:
        page = writer.add_blank_page(612, 792)
        if not text:
            continue
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 10 Tf 36 720 Td ({escaped}) Tj ET".encode("latin-1"))
        page.replace_contents(stream)
    if title:
        writer.add_metadata({"/Title": title})
    if password is not None:
        writer.encrypt(user_password=password, owner_password="owner", algorithm="AES-128")
    writer.write(path)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def chroma_server(path: Path, timeout: float = 90.0) -> Iterator[str]:
    """Run ``chroma run`` (the chromadb package's server) on loopback; yield its URL."""
    port = free_port()
    executable = Path(sys.executable).parent / "chroma"
    log = (path.parent / f"chroma-{port}.log").open("wb")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    process = subprocess.Popen(
        [str(executable), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"chroma run did not answer on {url}; see {log.name}"
                    ) from exc
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
