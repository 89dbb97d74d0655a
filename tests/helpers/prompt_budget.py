"""Every prompt the project renders to a model, at its worst case, counted in Llama-2 tokens.

BioMedGPT-LM-7B uses the Llama-2 tokenizer (32,000 SentencePiece pieces) and was trained
at 2,048 tokens. :func:`build_llama2_checkpoint` saves a tiny random Llama whose tokenizer
is that vocabulary (tests/fixtures/llama2_tokenizer, provenance in SOURCES.md) under a
BioMedGPT-LM-7B name, so ``ChatBioMedGPT`` renders and counts exactly as it would for
the real checkpoint (BioMedGPT chat format, 2,048-token window). :func:`measure` renders
each prompt kind at its worst case and returns its tokens and the answer tokens the code
reserves after it. Used by tests/test_prompt_budget.py and ``benchmarks/prompt_sizes.py``.
"""

from __future__ import annotations

import lzma
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from biomed_agent.agent.state import Entities

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER = ROOT / "tests" / "fixtures" / "llama2_tokenizer" / "tokenizer.json.xz"
TOOL_PROMPTS = ROOT / "tests" / "fixtures" / "tool_prompts" / "tool_prompts.json"
BENCHMARK_DATA = ROOT / "tests" / "fixtures" / "benchmarks"
WINDOW = 2048
SPARE = 256
LIMIT = WINDOW - SPARE
"""Prompt + reserved answer tokens must stay at or below this."""

_UNBOUNDED = 1 << 30

# Long, token-dense user data: a 1,000-residue protein, a large SMILES, digits.
SEQUENCE = ("MEEPQSDPSVEPPLSQETFSDLWKLLPENNVLSPLPSQAMDDLMLSPDDIEQWFTEDPGP" * 17)[:1000]
SMILES = "CC(C)C[C@H](NC(=O)[C@@H](Cc1ccccc1)NC(=O)c1cnccn1)B(O)O" * 4
QUESTION_WORDS = (
    "Compare P04637, P38398 and Q9Y6K9 with EGFR, BRCA1 and TP53 variants R175H R248Q "
    "R273H G245S for imatinib 2-acetoxybenzoic acid CHEMBL25 PMID 31234567 10.1038/nature12373 "
)


@dataclass(frozen=True)
class Measured:
    """One prompt kind at its worst case."""

    name: str
    tokens: int
    """Prompt tokens as the model encodes them (chat format, BOS, tool text)."""

    reserved: int
    """Answer tokens the code reserves after the prompt (max_new_tokens, closing allowance)."""

    note: str = ""

    @property
    def total(self) -> int:
        return self.tokens + self.reserved


def llama2_tokenizer() -> Any:
    """The Llama-2 tokenizer (fast) from the fixture."""
    from tokenizers import Tokenizer
    from transformers import LlamaTokenizerFast

    raw = lzma.decompress(TOKENIZER.read_bytes()).decode("utf-8")
    return LlamaTokenizerFast(
        tokenizer_object=Tokenizer.from_str(raw),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        add_bos_token=True,
        add_eos_token=False,
        legacy=True,
    )


def build_llama2_checkpoint(parent: Path) -> Path:
    """A 1-layer random Llama with the Llama-2 tokenizer, named like BioMedGPT-LM-7B."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    path = parent / "BioMedGPT-LM-7B-llama2-tokenizer"
    if (path / "config.json").exists():
        return path
    tokenizer = llama2_tokenizer()
    config = LlamaConfig(
        vocab_size=32000,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=4096,  # as Llama-2's config; BioMedGPT was trained at 2,048
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def prompt_tokens(chat: Any, messages: Sequence[BaseMessage], **options: Any) -> int:
    """Tokens of the prompt ``chat`` renders for ``messages`` with call ``options``."""
    from biomed_agent.models.local_prompt import build_prompt

    request = chat._request(list(messages), None, dict(options))
    prompt = build_prompt(
        chat.loaded(),
        request,
        chat_format=chat.resolved_chat_format(),
        window=_UNBOUNDED,
        reserved=1,
    )
    return len(prompt.input_ids)


def _tool_reserve(chat: Any) -> int:
    from biomed_agent.models.tool_calling import CLOSING_ALLOWANCE

    return int(chat.max_new_tokens) + CLOSING_ALLOWANCE


def _structured(schema: Any, chat: Any) -> dict[str, Any]:
    """The call options ``with_structured_output(schema)`` binds (a forced tool call)."""
    kwargs = dict(chat.bind_tools([schema], tool_choice="any").kwargs)
    return {k: v for k, v in kwargs.items() if not k.startswith("ls_")}


def _largest_tools(chat: Any, count: int) -> list[Any]:
    """The ``count`` registered tools whose forced-call prompt is longest."""
    from biomed_agent.tools import get_tools

    question = [HumanMessage("x")]
    sizes = [
        (prompt_tokens(chat, question, **_bound(chat, [tool], tool.name)), tool)
        for tool in get_tools()
    ]
    return [tool for _, tool in sorted(sizes, key=lambda pair: -pair[0])[:count]]


def _bound(chat: Any, tools: Sequence[Any], choice: str) -> dict[str, Any]:
    return dict(chat.bind_tools(list(tools), tool_choice=choice).kwargs)


def _longest_tool_prompt() -> str:
    import json

    items = json.loads(TOOL_PROMPTS.read_text("utf-8"))["items"]
    return max((str(item["prompt"]) for item in items), key=len)


def measure_tools(chat: Any) -> Iterator[Measured]:
    """``bind_tools(get_tools())`` as the docs show it, forced and auto, and one forced tool."""
    from biomed_agent.tools import get_tools

    question = [HumanMessage(_longest_tool_prompt())]
    reserve = _tool_reserve(chat)
    offered = int(chat.max_offered_tools)
    worst = _largest_tools(chat, offered)
    for choice in ("any", "auto"):
        yield Measured(
            f"tools: bind_tools(get_tools()), tool_choice={choice!r}",
            prompt_tokens(chat, question, **_bound(chat, get_tools(), choice)),
            reserve,
            f"longest of the 40 tool prompts, tools chosen by relevance (<= {offered})",
        )
        yield Measured(
            f"tools: the {offered} largest tools offered, tool_choice={choice!r}",
            prompt_tokens(chat, question, **_bound(chat, worst, choice)),
            reserve,
            "worst case of any relevance ranking",
        )
    yield Measured(
        f"tools: one forced tool (largest, {worst[0].name})",
        prompt_tokens(chat, question, **_bound(chat, get_tools(), worst[0].name)),
        reserve,
    )


def _worst_entities() -> Entities:
    return Entities(
        inchikeys=["BSYNRYMUTXBXSQ-UHFFFAOYSA-N"] * 3,
        carried_over=[],
        accessions=["P04637", "P38398", "Q9Y6K9", "P00533", "O15111", "P31749", "Q13315"],
        genes=["TP53", "BRCA1", "EGFR", "IKBKB", "AKT1", "ATM", "KRAS"],
        compounds=[{"name": "imatinib", "smiles": SMILES, "cid": 5291, "url": None}] * 4,
        smiles=[SMILES] * 4,
        sequences=[SEQUENCE] * 3,
        mutations=["R175H", "R248Q", "R273H", "G245S", "R249S", "R282W", "Y220C"],
        pmids=["31234567", "29876543", "30000001", "28765432", "31111111"],
    )


def _worst_question(chat: Any) -> str:
    """A question far longer than any prompt quotes (cut to QUESTION_TOKENS by the agent)."""
    return QUESTION_WORDS * 40


def measure_planner(chat: Any, has_10b: bool = False) -> Iterator[Measured]:
    """The model planner's structured-output prompt, first round and replanning."""
    from biomed_agent.agent.plan_prompt import plan_schema, planner_tools, render_plan_prompt
    from biomed_agent.agent.prompt_fit import clip_question, fit_plan_prompt
    from biomed_agent.prompts import load_prompt
    from biomed_agent.tools import tool_specs

    tools = {spec.name: spec for spec in tool_specs()}
    entities = _worst_entities()
    question = _worst_question(chat)
    # the rules' plan at its longest: a step of every kind, with long arguments
    suggested = [(name, {"sequence": SEQUENCE, "query": SMILES}, "") for name in tools][:12]
    offered = planner_tools(question, suggested, tools, has_10b=has_10b)
    largest = _largest_specs(chat, tools, len(offered))
    failed = [_failed(i, name) for i, name in enumerate(tools, 1)][:12]
    for label, observations in (("first round", []), ("replanning, 12 failed steps", failed)):
        for which, shown in (("offered", offered), ("largest", largest)):
            schema = plan_schema(shown, 12)

            def render(rows: int, shown: Any = shown, observations: Any = observations) -> str:
                return render_plan_prompt(
                    clip_question(chat, question), entities, suggested, observations, shown, rows
                )

            prompt = fit_plan_prompt(chat, render, schema)  # as the agent's plan node does
            messages = [SystemMessage(load_prompt("agent_system")), HumanMessage(prompt)]
            yield Measured(
                f"planner ({label}; {len(shown)} {which} tools)",
                prompt_tokens(chat, messages, **_structured(schema, chat)),
                _tool_reserve(chat),
                ", ".join(shown),
            )


def _failed(number: int, tool: str) -> Any:
    from biomed_agent.agent.state import Observation

    return Observation(
        id=number,
        tool=tool,
        args={"sequence": SEQUENCE, "query": SMILES, "candidates": [SMILES] * 10},
        status="error",
        result=None,
        error={"type": "UpstreamError", "message": f"failed on {SEQUENCE}"},
        elapsed_ms=1.0,
        round=1,
    )


def _largest_specs(chat: Any, tools: dict[str, Any], count: int) -> dict[str, Any]:
    from biomed_agent.agent.plan_prompt import plan_schema
    from biomed_agent.models.tool_selection import NEEDS_10B

    question = [HumanMessage("x")]
    sizes = sorted(
        (
            -prompt_tokens(chat, question, **_structured(plan_schema({n: s}, 12), chat)),
            n,
        )
        for n, s in tools.items()
        if n not in NEEDS_10B
    )
    names = {n for _, n in sizes[:count]}
    return {n: s for n, s in tools.items() if n in names}


def measure_answer(chat: Any) -> Iterator[Measured]:
    """The answer prompt with more evidence than fits, and the repair turn after it."""
    from biomed_agent.agent.prompt_fit import answer_messages
    from biomed_agent.agent.running import data_block

    evidence = [
        {
            "title": f"Record {n} " + "long title words " * 10,
            "source": "pubmed",
            "url": f"https://pubmed.ncbi.nlm.nih.gov/{31234567 + n}/",
            "tool": "pubmed_search",
            "key": f"pubmed:{n}",
            "record_id": str(n),
            "arguments": {},
            "details": {},
            "text": (SEQUENCE if n % 2 else QUESTION_WORDS * 30),
        }
        for n in range(1, 21)
    ]
    blocks = [data_block(n, item) for n, item in enumerate(evidence, 1)]  # type: ignore[arg-type]
    failures = "; ".join(f"uniprot_lookup: UpstreamError: {SEQUENCE[:300]}" for _ in range(8))
    question = _worst_question(chat)
    messages = answer_messages(chat, question, blocks, failures)
    reserve = int(chat.max_new_tokens)
    yield Measured(
        "answer (20 evidence items of 2,000 chars)", prompt_tokens(chat, messages), reserve
    )
    previous = "1" * reserve  # an answer of max_new_tokens tokens
    problems = [f"number {SEQUENCE[:120]} is not in the evidence"] * 12
    messages = answer_messages(chat, question, blocks, failures, repair=(previous, problems))
    yield Measured(
        "answer repair (previous answer of max_new_tokens)",
        prompt_tokens(chat, messages),
        reserve,
    )


def measure_eval(chat: Any) -> Iterator[Measured]:
    """Zero-shot eval prompts: the longest fixture item of each benchmark."""
    from biomed_agent.eval.benchmarks import BENCHMARKS
    from biomed_agent.eval.prompting import build_prompt

    for name, benchmark in BENCHMARKS.items():
        folder = BENCHMARK_DATA / _FOLDERS.get(name, name)
        items = _fixture_items(benchmark, folder)
        if not items:
            continue
        worst = max(
            items,
            key=lambda item: prompt_tokens(chat, _messages(build_prompt(benchmark.kind, item))),
        )
        messages = _messages(build_prompt(benchmark.kind, worst))
        yield Measured(
            f"eval {name} (0-shot, longest of {len(items)} fixture items)",
            prompt_tokens(chat, messages),
            benchmark.answer_tokens,
        )


_FOLDERS = {"medqa": "medqa_usmle", "mmlu-medicine": "mmlu_professional_medicine"}


def measure_10b(chat: Any, question_tokens: int = 256) -> Iterator[Measured]:
    """BioMedGPT-10B's prompt (``protein_qa``): its multimodal system text, the longest
    protein (1,024 encoder positions, one ``[PAD]`` each) and a question; its 256 answer
    tokens reserved. The text is counted on the Llama-2 tokenizer, the positions added."""
    from biomed_agent.models.multimodal.model import MAX_PROTEIN_TOKENS
    from biomed_agent.models.multimodal.placeholders import PROTEIN_TURN
    from biomed_agent.prompts import load_prompt_data

    system = load_prompt_data("biomedgpt_conversation")["system_multimodal"]
    turn = PROTEIN_TURN.replace("<proteinHere>", "")
    question = "1" * question_tokens  # digits: one token each
    messages = [SystemMessage(system), HumanMessage(turn), HumanMessage(question)]
    yield Measured(
        f"BioMedGPT-10B protein_qa (1,022 residues, {question_tokens}-token question)",
        prompt_tokens(chat, messages) + MAX_PROTEIN_TOKENS,
        256,
        "ChatBioMedGPT10B: max_new_tokens 256",
    )


def _fixture_items(benchmark: Any, folder: Path) -> list[Any]:
    if not folder.is_dir():
        return []
    for path in sorted(folder.iterdir()):
        if path.name in ("LICENSE", "README.md"):
            continue
        try:
            return list(benchmark.load(path))
        except Exception:
            continue
    return []


def _messages(prompt: Sequence[tuple[str, str]]) -> list[BaseMessage]:
    kinds: dict[str, Callable[[str], BaseMessage]] = {
        "system": SystemMessage,
        "human": HumanMessage,
        "ai": AIMessage,
    }
    return [kinds[role](text) for role, text in prompt]


def measure(chat: Any) -> list[Measured]:
    """Every prompt kind at its worst case."""
    return [
        *measure_tools(chat),
        *measure_planner(chat),
        *measure_answer(chat),
        *measure_eval(chat),
        *measure_10b(chat),
    ]
