"""get_num_tokens / get_num_tokens_from_messages count with the model's own tokenizer and
chat format (LangChain's default would fetch GPT-2's tokenizer and count a plain buffer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field
from transformers import AutoTokenizer

from biomed_agent.models.chat_model import ChatBioMedGPT

TEXT = "Ibuprofen inhibits cyclooxygenase enzymes COX-1 and COX-2; its logP is 3.97."


@pytest.fixture(scope="module")
def chat(tiny_llama_dir: Path) -> ChatBioMedGPT:
    return ChatBioMedGPT(model=str(tiny_llama_dir), device_map="cpu", max_new_tokens=8)


class Lookup(BaseModel):
    """Look up a protein by its UniProt accession."""

    accession: str = Field(description="UniProt accession, e.g. P04637")


def test_text_is_counted_with_the_checkpoints_tokenizer(
    chat: ChatBioMedGPT, tiny_llama_dir: Path
) -> None:
    reference = AutoTokenizer.from_pretrained(str(tiny_llama_dir))  # the library, read anew
    ids = reference(TEXT, add_special_tokens=False).input_ids
    assert chat.get_token_ids(TEXT) == ids
    assert chat.get_num_tokens(TEXT) == len(ids)


def test_messages_count_as_the_rendered_prompt_with_tools(
    chat: ChatBioMedGPT, tiny_llama_dir: Path
) -> None:
    reference = AutoTokenizer.from_pretrained(str(tiny_llama_dir))
    messages = [SystemMessage(content="Be brief."), HumanMessage(content=TEXT)]
    rendered = chat.prompt_text(messages)
    expected = len(reference(rendered, add_special_tokens=True).input_ids)
    assert chat.get_num_tokens_from_messages(messages) == expected
    # bound tools are offered in the system text: their description and schema add tokens
    with_tools = chat.get_num_tokens_from_messages(messages, tools=[Lookup])
    schema_tokens = chat.get_num_tokens("UniProt accession, e.g. P04637")
    assert with_tools >= expected + schema_tokens
