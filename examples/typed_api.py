"""A small user script against the public API; `make lint` checks it with `mypy --strict`.

It proves the lazily imported names keep their real types for type checkers
(``BioMedAgent``, ``get_tools``, ``ChatBioMedGPT``, ``KnowledgeStore`` ...).
Running it needs nothing: the agent is model-free and offline.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from biomed_agent import (
    Answer,
    BioMedAgent,
    ChatBioMedGPT,
    KnowledgeStore,
    Resources,
    Settings,
    get_tools,
)
from biomed_agent.proteins import load_esm


def tool_names(settings: Settings) -> list[str]:
    with Resources(settings) as resources:
        tools: list[BaseTool] = get_tools(settings, resources=resources)
        return [tool.name for tool in tools]


def first_citation(agent: BioMedAgent, question: str) -> str | None:
    answer: Answer = agent.ask(question)
    return answer.citations[0].url if answer.citations else None


def chat_model(path: str) -> ChatBioMedGPT:
    return ChatBioMedGPT(model=path, max_new_tokens=32)


def stored(store: KnowledgeStore) -> int:
    return store.count()


def esm_label(name: str) -> str:
    return load_esm(name).label


if __name__ == "__main__":
    settings = Settings(model="none", offline=True)
    print(tool_names(settings))
    with BioMedAgent(settings=settings, memory=False) as agent:
        print(agent.ask("Is CC(=O)Oc1ccccc1C(=O)O drug-like?").text)
