"""Prompts and chat templates, kept as package data and read with :mod:`importlib.resources`.

Every prompt of the package lives here as a ``.txt`` (text, ``string.Template``
placeholders such as ``$tools``) or ``.json`` (structured data, e.g. a
conversation format) file, so prompts are reviewed as data and never hide in code::

    from biomed_agent.prompts import load_prompt, load_prompt_data

    load_prompt("tool_instructions")               # tool_instructions.txt as text
    load_prompt_data("biomedgpt_conversation")     # biomedgpt_conversation.json, parsed

Files:

- ``biomedgpt_conversation.json``: BioMedGPT's conversation format (OpenBioMed's
  ``Conversation``: system text, ``###`` separator, ``Human`` / ``Assistant`` roles).
- ``tool_instructions.txt``: how tools are offered to a local model that has no native
  tool-calling format (``$choice_rule``, ``$tools``).
- ``tool_result.txt``: how a tool result is shown to the model, delimited as data.
- ``biomedgpt_chat_template.txt``: the conversation format as a Jinja chat template for
  OpenAI-compatible servers (``vllm serve ... --chat-template``).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from biomed_agent.errors import InvalidInputError

__all__ = ["available_prompts", "load_prompt", "load_prompt_data"]

_SUFFIXES = (".txt", ".json")


def available_prompts() -> list[str]:
    """File names of every prompt shipped with the package."""
    root = resources.files(__name__)
    return sorted(
        entry.name for entry in root.iterdir() if entry.is_file() and entry.name.endswith(_SUFFIXES)
    )


@cache
def load_prompt(name: str) -> str:
    """Text of the prompt file ``name`` (``.txt`` is assumed when no suffix is given)."""
    file_name = name if name.endswith(_SUFFIXES) else f"{name}.txt"
    entry = resources.files(__name__).joinpath(file_name)
    if not entry.is_file():
        raise InvalidInputError(
            f"No prompt named {name!r}; available prompts: {', '.join(available_prompts())}.",
            input_name="name",
        )
    return entry.read_text(encoding="utf-8")


def load_prompt_data(name: str) -> Any:
    """The parsed content of the JSON prompt file ``name`` (``.json`` is assumed)."""
    file_name = name if name.endswith(".json") else f"{name}.json"
    return json.loads(load_prompt(file_name))
