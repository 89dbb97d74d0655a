"""``biomed-agent demo``: the main job, offline.

By default it runs the model-free agent on shipped real records
(:func:`biomed_agent.agent.demo.run_demo`). ``--molecules`` instead runs the four
molecule tools through their :class:`~biomed_agent.tools.base.ToolSpec`
(the same path the CLI and agents use): properties, drug-likeness with structural
alerts, similarity against a panel of approved drugs, and a substructure search.
The drugs ship as package data (``biomed_agent/data/demo_drugs.json``, from ChEMBL).
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from biomed_agent.molecules.druglikeness import RuleReport


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="answer a multi-step question offline (model-free agent on shipped records)",
        description="Ingest real recorded PubChem, UniProt and PubMed records into the "
        "knowledge store and answer a multi-step question with the model-free agent, "
        "showing steps and citations. With --molecules: profile a drug with the molecule "
        "tools (properties, drug-likeness, similarity to approved drugs, a kinase motif).",
    )
    demo.add_argument(
        "--molecules",
        action="store_true",
        help="run the molecule-tool report on imatinib instead of the agent",
    )
    demo.add_argument("--json", action="store_true", help="with --molecules: print JSON")
    demo.add_argument(
        "--smiles",
        help="with --molecules: profile this molecule (SMILES or InChI) instead of imatinib",
    )
    demo.set_defaults(handler=run)


def load_demo_data() -> dict[str, Any]:
    """The demo's drugs, query name and SMARTS motif (package data)."""
    text = resources.files("biomed_agent").joinpath("data/demo_drugs.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def run_demo(smiles: str | None = None) -> dict[str, Any]:
    """Call the four molecule tools and return their results keyed by tool name."""
    from biomed_agent.tools import get_tool_spec

    data = load_demo_data()
    drugs = {drug["name"]: drug for drug in data["drugs"]}
    query_name = data["query"] if smiles is None else "your molecule"
    query = drugs[data["query"]]["smiles"] if smiles is None else smiles
    panel = [drug for name, drug in drugs.items() if name != query_name]
    properties = get_tool_spec("molecule_properties").run({"smiles": query})
    similarity = get_tool_spec("molecule_similarity").run(
        {"query": query, "candidates": [drug["smiles"] for drug in panel], "limit": 5}
    )
    for hit in similarity["hits"]:
        hit["name"] = panel[hit["index"]]["name"]
    searched = [query, *(drug["smiles"] for drug in panel)]
    substructure = get_tool_spec("substructure_search").run(
        {"smarts": data["substructure"]["smarts"], "candidates": searched}
    )
    names = [query_name, *(drug["name"] for drug in panel)]
    for match in substructure["matches"]:
        match["name"] = names[match["index"]]
    return {
        "query": {"name": query_name, "smiles": query},
        "molecule_properties": properties,
        "drug_likeness": get_tool_spec("drug_likeness").run({"smiles": query}),
        "molecule_similarity": similarity,
        "substructure_search": {**substructure, "motif": data["substructure"]["name"]},
        "source": data["source"],
    }


def _rows(pairs: list[tuple[str, object]]) -> list[str]:
    width = max(len(label) for label, _ in pairs)
    return [f"  {label.ljust(width)}  {value}" for label, value in pairs]


def format_report(result: dict[str, Any]) -> str:
    """A plain-text report of :func:`run_demo`'s results."""
    props = result["molecule_properties"]
    likeness = result["drug_likeness"]
    similarity = result["molecule_similarity"]
    substructure = result["substructure_search"]
    alerts = likeness["alerts"]
    lines = [
        f"Molecule: {result['query']['name']}",
        f"  {props['canonical_smiles']}",
        "",
        "Properties (molecule_properties)",
        *_rows(
            [
                ("formula", props["formula"]),
                ("InChIKey", props["inchikey"]),
                ("molecular weight", f"{props['molecular_weight']:.2f} g/mol"),
                ("exact mass", f"{props['exact_mass']:.4f}"),
                ("logP (Crippen)", f"{props['logp']:.2f}"),
                ("TPSA", f"{props['tpsa']:.1f} Å²"),
                ("H-bond donors", f"{props['hbd_lipinski']} Lipinski NH+OH / {props['hbd']} RDKit"),
                (
                    "H-bond acceptors",
                    f"{props['hba_lipinski']} Lipinski N+O / {props['hba']} RDKit",
                ),
                ("rotatable bonds", props["rotatable_bonds"]),
                ("rings (aromatic)", f"{props['ring_count']} ({props['aromatic_ring_count']})"),
                ("heavy atoms", props["heavy_atom_count"]),
                ("fraction Csp3", f"{props['fraction_csp3']:.2f}"),
                ("formal charge", props["formal_charge"]),
                ("QED", f"{props['qed']:.2f}"),
                ("SA score", f"{props['sa_score']:.2f} (1 easy - 10 hard)"),
                ("Murcko scaffold", props["murcko_scaffold"] or "(acyclic)"),
            ]
        ),
        "",
        "Drug-likeness (drug_likeness)",
        *_rows(
            [
                ("Lipinski", _verdict(likeness["lipinski"])),
                ("Veber", _verdict(likeness["veber"])),
                ("PAINS alerts", ", ".join(alerts["pains"]) or "none"),
                ("Brenk alerts", ", ".join(alerts["brenk"]) or "none"),
            ]
        ),
        f"  {likeness['summary']}",
        "",
        f"Most similar of {similarity['candidates_searched']} approved drugs "
        f"(molecule_similarity; {similarity['fingerprint']})",
        *_rows([(hit["name"], f"{hit['similarity']:.3f}") for hit in similarity["hits"]]),
        "",
        f"Substructure {substructure['smarts']} = {substructure['motif']} (substructure_search)",
        f"  found in {substructure['match_count']} of {substructure['candidates_searched']}: "
        + (", ".join(match["name"] for match in substructure["matches"]) or "none"),
        "",
        f"Data: {result['source']}",
    ]
    return "\n".join(lines)


def _verdict(rule: RuleReport) -> str:
    from biomed_agent.molecules import describe_violations

    state = "pass" if rule["passes"] else "fail"
    return f"{state} ({describe_violations(rule) or 'no violations'})"


def run(args: argparse.Namespace) -> int:
    if not (args.molecules or args.smiles or args.json):
        from biomed_agent.agent.demo import run_demo as run_agent_demo
        from biomed_agent.settings import get_settings

        return run_agent_demo(get_settings())
    from biomed_agent.tools.base import to_json

    result = run_demo(args.smiles)
    print(to_json(result) if args.json else format_report(result))
    return 0
