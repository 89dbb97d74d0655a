"""The "plugging into agents you already have" snippets of docs/interfaces.md, executed.

Each block follows a ``<!-- snippet: NAME -->`` marker; the test swaps the 7B model for a
scripted model or the tiny checkpoint (every swapped text must be in the block, so the
doc cannot drift away from what runs) and checks what the snippet produced.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from biomed_agent.agent.demo import demo_documents
from biomed_agent.retrievers.store import KnowledgeStore
from biomed_agent.settings import get_settings
from tests.helpers.scripted_models import ScriptedChatModel, ToolScriptModel

DOC = Path(__file__).resolve().parent.parent / "docs" / "interfaces.md"
SEVEN_B = 'ChatBioMedGPT(model="PharMolix/BioMedGPT-LM-7B")'
ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def snippet(name: str) -> str:
    """The code of the ```python block right after ``<!-- snippet: name -->``."""
    found = re.search(
        rf"<!-- snippet: {re.escape(name)} -->\n```python\n(.*?)\n```", DOC.read_text(), re.S
    )
    assert found, f"no snippet {name!r} in {DOC}"
    return found.group(1)


def run_snippet(name: str, swaps: dict[str, str], **names: Any) -> dict[str, Any]:
    code = snippet(name)
    for old, new in swaps.items():
        assert old in code, f"snippet {name!r} no longer contains {old!r}"
        code = code.replace(old, new)
    namespace: dict[str, Any] = {"__name__": f"snippet_{name}", **names}
    exec(compile(code, f"{DOC.name}:{name}", "exec"), namespace)
    return namespace


def test_snippets_are_all_tested() -> None:
    assert re.findall(r"<!-- snippet: (\w+) -->", DOC.read_text()) == [
        "create_agent",
        "rag_chain",
        "langgraph_node",
    ]


def test_create_agent_with_get_tools(capsys: pytest.CaptureFixture[str]) -> None:
    model = ToolScriptModel(
        script=[
            AIMessage(
                content="",
                tool_calls=[
                    {"name": "drug_likeness", "args": {"smiles": ASPIRIN}, "id": "c1"},
                    {"name": "molecule_properties", "args": {"smiles": "C1CC"}, "id": "c2"},
                ],
            ),
            AIMessage(content="Aspirin passes Lipinski and Veber; one Brenk alert."),
        ]
    )
    done = run_snippet("create_agent", {SEVEN_B: "scripted_model"}, scripted_model=model)

    tool_messages = [m for m in done["result"]["messages"] if isinstance(m, ToolMessage)]
    by_call = {m.tool_call_id: m for m in tool_messages}
    verdict = json.loads(str(by_call["c1"].content))
    assert (by_call["c1"].status, verdict["lipinski"]) == (
        "success",
        {"passes": True, "violations": []},
    )
    assert verdict["alerts"]["brenk"] == ["phenol_ester"]
    error = json.loads(str(by_call["c2"].content))["error"]
    assert by_call["c2"].status == "error"
    assert error["type"] == "InvalidMoleculeError" and "'C1CC'" in error["message"]
    # the second model call saw both tool results
    assert [type(m).__name__ for m in model.received[1]][-2:] == ["ToolMessage", "ToolMessage"]
    printed = capsys.readouterr().out
    assert "AIMessage Aspirin passes Lipinski and Veber" in printed


def test_retriever_in_rag_chain(capsys: pytest.CaptureFixture[str]) -> None:
    KnowledgeStore(get_settings()).add_documents(demo_documents())
    echo = ScriptedChatModel(reply=lambda prompt: prompt)  # returns the prompt it was given
    done = run_snippet("rag_chain", {SEVEN_B: "echo_model"}, echo_model=echo)

    prompt = done["answer"]
    assert prompt.startswith("Answer from the context only and cite its links.")
    assert prompt.endswith("Question: Does aspirin prevent venous thromboembolism?")
    # three chunks of the recorded PubMed article on aspirin and VTE, with their links
    assert prompt.count("](https://pubmed.ncbi.nlm.nih.gov/23121403/)") == 3
    assert "CONCLUSIONS: In this study, aspirin, as compared with placebo" in prompt
    assert "pubchem" not in prompt and "uniprot" not in prompt  # sources=["pubmed"]
    assert capsys.readouterr().out.strip() == prompt.strip()


def test_chat_biomedgpt_in_a_langgraph_graph(
    tiny_llama_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    swaps = {
        '"PharMolix/BioMedGPT-LM-7B"': repr(str(tiny_llama_dir)),
        "max_new_tokens=256": "max_new_tokens=6, device_map='cpu', seed=0",
    }
    done = run_snippet("langgraph_node", swaps)

    streamed = capsys.readouterr().out
    graph = done["graph"]
    answered = graph.invoke(done["question"])["messages"]
    assert [type(m).__name__ for m in answered] == ["HumanMessage", "AIMessage"]
    assert answered[-1].content == streamed  # greedy decoding: same text, streamed or not
    assert answered[-1].usage_metadata["output_tokens"] <= 6
    skipped = graph.invoke({"messages": [("user", "What is the weather?")]})["messages"]
    assert [type(m).__name__ for m in skipped] == ["HumanMessage"]  # routed past the model
