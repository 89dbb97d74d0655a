"""Ask BioMedGPT-10B about one molecule or one protein: tools for agents that plan with another LLM.

``molecule_qa(smiles, question)`` and ``protein_qa(protein, question)`` send the
structure itself (the molecule graph, the ESM-2 embedding of the sequence) to
BioMedGPT-10B through :class:`~biomed_agent.models.multimodal.chat.ChatBioMedGPT10B`
and return its answer. The model is configured with ``BIOMED_BIOMEDGPT10B_PATH``;
without it the tools answer with a :class:`~biomed_agent.errors.ModelLoadError`
saying so. ``protein_qa`` resolves a UniProt accession to its sequence through the
shared :class:`~biomed_agent.resources.Resources` UniProt client before asking the
model (which reads sequences only). Nothing heavy is imported until a tool runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from biomed_agent.errors import InvalidInputError, ModelLoadError
from biomed_agent.resources import Resources
from biomed_agent.settings import Settings
from biomed_agent.tools.base import ToolSpec

if TYPE_CHECKING:
    from biomed_agent.models.multimodal.chat import ChatBioMedGPT10B

__all__ = ["MoleculeQAArgs", "ProteinQAArgs", "build_tools"]

MAX_QUESTION_LENGTH = 2_000
"""A coarse bound on characters; what really fits is checked in tokens (:func:`_ask`):
the structure's positions and the answer share BioMedGPT-10B's 2,048-token window."""

Question = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_QUESTION_LENGTH,
        description=(
            "the question about it, in English, e.g. 'What is this molecule used for?'; short "
            "(the structure and the answer share a 2,048-token window)"
        ),
    ),
]


class MoleculeQAArgs(BaseModel):
    """Arguments of ``molecule_qa``."""

    model_config = ConfigDict(extra="forbid")

    smiles: str = Field(
        min_length=1,
        max_length=5_000,
        description="one molecule as SMILES, e.g. 'CC(=O)Oc1ccccc1C(=O)O' (aspirin); no names",
    )
    question: Question


class ProteinQAArgs(BaseModel):
    """Arguments of ``protein_qa``."""

    model_config = ConfigDict(extra="forbid")

    protein: str = Field(
        min_length=1,
        max_length=100_000,
        description=(
            "an amino-acid sequence (one-letter codes) or a UniProt accession such as "
            "'P04637'; sequences beyond 1,022 residues are truncated"
        ),
    )
    question: Question


def _chat(settings: Settings, tool: str) -> ChatBioMedGPT10B:
    if settings.biomedgpt10b_path is None:
        raise ModelLoadError(
            f"{tool} needs BioMedGPT-10B, and none is configured: set BIOMED_BIOMEDGPT10B_PATH "
            "to the directory holding biomedgpt_10b.pth with the BioMedGPT-LM-7B and ESM-2 3B "
            "configs (see docs/biomedgpt-10b.md).",
            input_name="biomedgpt10b_path",
        )
    from biomed_agent.models.multimodal.chat import ChatBioMedGPT10B

    # OpenBioMed's generation settings (256 new tokens, 2,048 context) unless configured
    chosen = settings.model_fields_set
    limits = {
        name: getattr(settings, setting)
        for name, setting in (
            ("max_new_tokens", "max_new_tokens"),
            ("context_window", "max_context"),
        )
        if setting in chosen
    }
    return ChatBioMedGPT10B(
        model=str(settings.biomedgpt10b_path),
        dtype=settings.dtype,
        device_map=settings.device,
        **limits,
    )


def _ask(chat: ChatBioMedGPT10B, block: dict[str, str], question: str) -> str:
    """The model's answer; a question that does not fit beside the structure and the answer
    is refused first, naming how many tokens are left for it."""
    from langchain_core.messages import HumanMessage

    message = HumanMessage(content=[block, {"type": "text", "text": question}])
    used, fits = chat.prompt_room([message])
    if used > fits:
        window, _, count_text, _ = chat.prompt_counter()
        asked = count_text(question)
        left = fits - (used - asked)
        kind = "molecule" if block["type"] == "molecule" else "protein"
        if left < 1:
            raise InvalidInputError(
                f"this {kind} alone fills BioMedGPT-10B's {window}-token window (with "
                f"{chat.max_new_tokens} answer tokens): pass a smaller {kind}.",
                input_name="smiles" if kind == "molecule" else "protein",
            )
        raise InvalidInputError(
            f"question is {asked} tokens, but beside this {kind} and {chat.max_new_tokens} "
            f"answer tokens only {left} fit BioMedGPT-10B's {window}-token window: shorten it.",
            input_name="question",
        )
    return chat.invoke([message]).text.strip()


def build_tools(settings: Settings, resources: Resources | None = None) -> list[ToolSpec]:
    """``molecule_qa`` and ``protein_qa`` bound to ``settings`` (the model loads on first use).

    ``protein_qa`` fetches accessions through the UniProt client of ``resources``
    (a new :class:`~biomed_agent.resources.Resources` when none is given).
    """

    shared = resources or Resources(settings)  # its members are built on first use

    def molecule_qa(smiles: str, question: str) -> dict[str, Any]:
        block = {"type": "molecule", "smiles": smiles}
        answer = _ask(_chat(settings, "molecule_qa"), block, question)
        return {"answer": answer, "smiles": smiles, "model": "BioMedGPT-10B"}

    def protein_qa(protein: str, question: str) -> dict[str, Any]:
        from biomed_agent.models.multimodal.messages import protein_block

        chat = _chat(settings, "protein_qa")  # an unconfigured model fails before any fetch
        block = protein_block(protein)
        asked = block
        if "accession" in block:
            from biomed_agent.proteins.sequences import uniprot_sequence

            sequence = uniprot_sequence(block["accession"], shared.uniprot)
            asked = {"type": "protein", "sequence": sequence}
        answer = _ask(chat, asked, question)
        kind = "accession" if "accession" in block else "sequence"
        return {"answer": answer, kind: block[kind], "model": "BioMedGPT-10B"}

    return [
        ToolSpec(
            name="molecule_qa",
            func=molecule_qa,
            args_schema=MoleculeQAArgs,
            description=(
                "Ask BioMedGPT-10B a question about one molecule given as SMILES.\n"
                "The model reads the molecule's structure graph itself (not its name), so use "
                "it for questions about a specific structure: what it is, its properties, "
                "uses or mechanism. The answer is model-generated text, not a database fact: "
                "check important claims with retrieval tools."
            ),
        ),
        ToolSpec(
            name="protein_qa",
            func=protein_qa,
            args_schema=ProteinQAArgs,
            description=(
                "Ask BioMedGPT-10B a question about one protein (sequence or UniProt accession).\n"
                "The model reads the sequence through its ESM-2 protein encoder; use it for "
                "questions about a specific protein's function, family or localisation. The "
                "answer is model-generated text, not a database fact: check it with uniprot "
                "tools when it matters."
            ),
        ),
    ]
