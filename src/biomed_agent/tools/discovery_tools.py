"""Drug-discovery tools over PubChem and UniProt: ligands of a target, analogs, activity, safety.

``target_ligands(target)``, ``similar_compounds(query, ...)``,
``compound_bioactivity(query)``, ``compound_safety(query)`` and
``profile_molecules(molecules | cids)``. Clients are built on first use; every request
goes through the shared PubChem/UniProt sessions (rate limits, retries, cache). Each
Results are computations over PubChem and UniProt data (the agent cites the tool step); they
name the pages they read: ``compound_url`` (PubChem), the target's and cross-references'
``url``, ``query_url``, ``assay_url``, ``depositor_url``.

Request budgets (PubChem unless noted):

* ``target_ligands``: 1 UniProt entry (+1 search for a name), 1 name lookup per DrugBank
  drug, 1 concise-bioactivity GET, 1 property POST for every ligand.
* ``similar_compounds``: 1 name lookup (names only), 1 search (+ ListKey polls),
  1 property POST for the query and all hits.
* ``compound_bioactivity``: 1 name lookup, 1 assay-summary POST, 1 gene-summary POST.
* ``compound_safety``: 1 name lookup, 1 PUG-View GET, 1 property POST (SMILES for alerts).
* ``profile_molecules``: with ``cids``, one property POST per 1,000 CIDs
  (``ceil(n / 1000)`` requests); with SMILES, none. Profiles run locally (RDKit).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal, cast
from urllib.parse import quote

from biomed_agent.errors import InvalidQueryError, NotFoundError, UpstreamError, shorten
from biomed_agent.retrievers.pubchem import PubChemClient, classify_query, compound_url
from biomed_agent.retrievers.uniprot import ACCESSION_PATTERN, UniProtClient, entry_url
from biomed_agent.settings import Settings
from biomed_agent.tools.base import ToolSpec
from biomed_agent.tools.discovery_schemas import (
    DESCRIPTIONS,
    MAX_PROFILE,
    BioactivityArgs,
    CompoundArgs,
    ProfileArgs,
    SimilarCompoundsArgs,
    TargetLigandsArgs,
)

__all__ = ["MAX_PROFILE", "build_tools"]

_AID_URL = "https://pubchem.ncbi.nlm.nih.gov/bioassay/{}"
_SEARCH_URL = "https://pubchem.ncbi.nlm.nih.gov/#query={}&tab=similarity"


class _Clients:
    """The PubChem and UniProt clients: the shared resources' when given, else built on use."""

    def __init__(self, settings: Settings, resources: Any = None) -> None:
        self.settings = settings
        self.resources = resources

    @cached_property
    def pubchem(self) -> PubChemClient:
        if self.resources is not None:
            return cast(PubChemClient, self.resources.pubchem)
        return PubChemClient.from_settings(self.settings)

    @cached_property
    def uniprot(self) -> UniProtClient:
        if self.resources is not None:
            return cast(UniProtClient, self.resources.uniprot)
        return UniProtClient.from_settings(self.settings)


def _check_compound(query: str) -> None:
    """Fail on a malformed query (bad SMILES, CID 0) before any request."""
    kind, value = classify_query(query)
    if kind == "smiles":
        from biomed_agent.molecules import to_mol

        to_mol(value)


def _compound(row: dict[str, Any], cid: int) -> dict[str, Any]:
    """A compound's PubChem fields and page."""
    keys = ("smiles", "formula", "molecular_weight", "xlogp", "tpsa")
    return {
        "cid": cid,
        "name": row.get("name") or f"CID {cid}",
        **{k: row[k] for k in keys if k in row},
        "compound_url": compound_url(cid),
    }


def _activity(summary: Any) -> dict[str, Any]:
    return {
        "active_assays": summary.active,
        "tested_assays": summary.tested,
        "best_potency_um": summary.best_um,
        "best_activity": summary.best_activity or None,
        "best_aid": summary.best_aid,
    }


def build_tools(settings: Settings, resources: Any = None) -> list[ToolSpec]:
    """The drug-discovery tools, on the clients of ``resources`` (a ``Resources``) if given."""
    clients = _Clients(settings, resources)

    def resolve(query: str) -> int:
        _check_compound(query)
        return clients.pubchem.resolve_cid(query)

    def target_ligands(
        target: str, organism: str | None = "9606", limit: int = 20
    ) -> dict[str, Any]:
        from biomed_agent.retrievers.pubchem_bioassay import summarise_targets, target_activity
        from biomed_agent.retrievers.uniprot_drugs import drug_references

        text = target.strip()
        if not text:
            raise InvalidQueryError("empty target; give an accession, gene or protein name",
                                    input_name="target")  # fmt: skip
        if ACCESSION_PATTERN.fullmatch(text.upper()):
            accession = text.upper()
        else:
            hits = clients.uniprot.search(text, organism, size=1)
            if not hits:
                raise NotFoundError(
                    f"UniProt has no protein named {shorten(text)}"
                    + (f" in organism {shorten(organism)}" if organism else "")
                    + ". Try the gene symbol or the UniProt accession.",
                    input_name="target",
                )
            accession = hits[0].accession
        raw = clients.uniprot.entry_json(accession)
        from biomed_agent.retrievers.uniprot import ProteinEntry

        entry = ProteinEntry.from_json(raw)
        references = drug_references(raw)
        drugs = [ref for ref in references if ref.is_drug and ref.name]
        notes: list[str] = []
        names = clients.pubchem.resolve_cids([d.name for d in drugs], "name", skip_missing=True)
        unresolved = [d.name for d in drugs if d.name not in names]
        if unresolved:
            notes.append(f"no PubChem compound for: {', '.join(unresolved)}")
        ligands: dict[int, dict[str, Any]] = {}
        for drug in drugs:
            if drug.name in names:
                ligands.setdefault(
                    names[drug.name],
                    {"name": drug.name, "drugbank_id": drug.id, "listed_in": "DrugBank"},
                )
        activity: dict[int, Any] = {}
        try:
            rows = target_activity(clients.pubchem, accession)
        except UpstreamError as exc:
            notes.append(f"PubChem bioactivity unavailable: {exc.message}")
            rows = []
        by_cid: dict[int, list[Any]] = {}
        for row in rows:
            if row.cid is not None:
                by_cid.setdefault(row.cid, []).append(row)
        for cid, cid_rows in by_cid.items():
            summaries = summarise_targets(cid_rows)
            if summaries:
                activity[cid] = summaries[0]
        bioactive = sorted(
            (cid for cid, s in activity.items() if s.active and cid not in ligands),
            key=lambda c: (activity[c].best_um is None, activity[c].best_um or 0.0, c),
        )[:limit]
        for cid in bioactive:
            ligands[cid] = {"listed_in": "PubChem bioassay"}
        table = clients.pubchem.properties(list(ligands)) if ligands else {}
        records = []
        for cid, info in ligands.items():
            record = {**_compound(table.get(cid, {}), cid), **info}
            record.setdefault("name", f"CID {cid}")
            if cid in activity:
                record.update(_activity(activity[cid]))
            records.append(record)
        return {
            "target": {
                "accession": entry.accession,
                "name": entry.protein_name,
                "gene": entry.gene,
                "organism": entry.organism,
                "url": entry_url(entry.accession),
            },
            "ligands": records,
            "cross_references": [ref.to_dict() for ref in references if not ref.is_drug],
            "pubchem_activity_rows": len(rows),
            "note": "; ".join(notes) or None,
        }

    def similar_compounds(
        query: str,
        mode: Literal["similarity", "substructure", "identity"] = "similarity",
        threshold: int = 90,
        limit: int = 20,
        max_tpsa: float | None = None,
        max_molecular_weight: float | None = None,
        max_xlogp: float | None = None,
    ) -> dict[str, Any]:
        from biomed_agent.molecules.similarity import similarity_search
        from biomed_agent.retrievers.pubchem_search import OPERATIONS, structure_search

        _check_compound(query)
        kind, value = classify_query(query)
        query_cid = clients.pubchem.resolve_cid(query) if kind != "smiles" else None
        search_input: str | int = query_cid if query_cid is not None else value
        cids = structure_search(
            clients.pubchem, search_input, mode, threshold=threshold, max_records=limit
        )
        wanted = [query_cid] if query_cid is not None else []
        table = clients.pubchem.properties([*wanted, *cids])
        query_smiles = value if query_cid is None else str(table.get(query_cid, {}).get("smiles"))
        limits = {"tpsa": max_tpsa, "molecular_weight": max_molecular_weight, "xlogp": max_xlogp}
        hits = [
            _compound(table[cid], cid)
            for cid in cids
            if cid != query_cid and cid in table and table[cid].get("smiles")
        ]
        kept = [
            hit
            for hit in hits
            if all(
                limit is None or (key in hit and float(hit[key]) < limit)
                for key, limit in limits.items()
            )
        ]
        ranked = similarity_search(
            query_smiles, [h["smiles"] for h in kept], k=max(len(kept), 1), on_error="skip"
        ) if kept else []  # fmt: skip
        for position, hit in enumerate(kept, start=1):
            hit["pubchem_rank"] = position
        analogs = []
        for found in ranked:
            hit = kept[found["index"]]
            hit["tanimoto"] = found["similarity"]
            analogs.append(hit)
        return {
            "query": query,
            "cid": query_cid,
            "name": table.get(query_cid, {}).get("name") if query_cid else None,
            "smiles": query_smiles,
            "mode": mode,
            "threshold": threshold if mode == "similarity" else None,
            "pubchem_hits": len(hits),
            "filters": {k: v for k, v in limits.items() if v is not None},
            "removed_by_filters": len(hits) - len(kept),
            "reranking": "RDKit Morgan radius 2, 2048 bits; Tanimoto to the query",
            "sources": [f"PubChem {OPERATIONS[mode]} search", "RDKit Morgan/Tanimoto re-ranking"],
            "analogs": analogs,
            "query_url": compound_url(query_cid)
            if query_cid
            else _SEARCH_URL.format(quote(query_smiles, safe="")),
        }

    def compound_bioactivity(query: str, limit: int = 10) -> dict[str, Any]:
        from biomed_agent.retrievers.pubchem_bioassay import (
            compound_activity,
            gene_symbols,
            summarise_targets,
        )

        cid = resolve(query)
        rows = compound_activity(clients.pubchem, [cid])[cid]
        outcomes: dict[str, set[int]] = {}
        for row in rows:
            outcomes.setdefault(row.outcome.lower() or "unspecified", set()).add(row.aid)
        summaries = summarise_targets(rows)
        symbols = gene_symbols(clients.pubchem, [s.gene_id for s in summaries if s.gene_id])
        name = clients.pubchem.properties([cid]).get(cid, {}).get("name") or f"CID {cid}"
        targets = []
        for summary in summaries[:limit]:
            symbol, gene_name = symbols.get(summary.gene_id or 0, ("", ""))
            targets.append(
                {
                    "symbol": symbol or None,
                    "name": gene_name or None,
                    "accession": summary.accession or None,
                    "gene_id": summary.gene_id,
                    **_activity(summary),
                    "assay_url": _AID_URL.format(summary.best_aid) if summary.best_aid else None,
                }
            )
        return {
            "cid": cid,
            "name": name,
            "assays_tested": len({row.aid for row in rows}),
            "active_assays": len(outcomes.get("active", ())),
            "inactive_assays": len(outcomes.get("inactive", ())),
            "inconclusive_assays": len(outcomes.get("inconclusive", ())),
            "targets_with_data": len(summaries),
            "targets": targets,
            "sources": ["PubChem assay summary", "PubChem gene summaries"],
            "compound_url": compound_url(cid),
        }

    def compound_safety(query: str) -> dict[str, Any]:
        from biomed_agent.molecules import structural_alerts, to_mol
        from biomed_agent.retrievers.pubchem_bioassay import compound_ghs

        cid = resolve(query)
        row = clients.pubchem.properties([cid]).get(cid, {})
        classifications = compound_ghs(clients.pubchem, cid)
        alerts: dict[str, Any] = {"pains": [], "brenk": []}
        if row.get("smiles"):
            alerts = dict(structural_alerts(to_mol(str(row["smiles"]))))
        return {
            "cid": cid,
            "name": row.get("name") or f"CID {cid}",
            "ghs_classifications": [c.to_dict() for c in classifications],
            "ghs_note": None
            if classifications
            else "PubChem holds no GHS classification for this compound",
            "structural_alerts": {"pains": list(alerts["pains"]), "brenk": list(alerts["brenk"])},
            "alerts_computed_on": row.get("smiles"),
            "sources": ["PubChem PUG-View GHS Classification", "RDKit PAINS/Brenk filters"],
            "compound_url": compound_url(cid),
        }

    def profile_molecules(
        molecules: list[str] | None = None,
        cids: list[int] | None = None,
        labels: list[str] | None = None,
        rank_by: str = "drug_likeness",
        limit: int = 20,
    ) -> dict[str, Any]:
        from biomed_agent.tools.molecule_tools import profile_table

        missing: list[int] = []
        found: list[int] = []
        if cids is not None:
            unique = list(dict.fromkeys(cids))
            table = clients.pubchem.properties(unique)
            missing = [cid for cid in unique if not table.get(cid, {}).get("smiles")]
            found = [cid for cid in unique if cid not in missing]
            given = dict(zip(cids, labels, strict=False)) if labels else {}
            molecules = [str(table[cid]["smiles"]) for cid in found]
            labels = [
                given.get(cid) or str(table[cid].get("name") or f"CID {cid}") for cid in found
            ]
        if not molecules:
            raise NotFoundError(f"PubChem has none of the CIDs {shorten(cids)}", input_name="cids")
        result = profile_table(molecules, labels, rank_by=rank_by)
        if cids is not None:
            for row in result["rows"]:
                row["cid"] = found[row["index"]]
            result["missing_cids"] = missing
        result["rows"] = result["rows"][:limit]
        return result

    return [
        ToolSpec(
            "target_ligands", target_ligands, TargetLigandsArgs, DESCRIPTIONS["target_ligands"]
        ),
        ToolSpec(
            "similar_compounds",
            similar_compounds,
            SimilarCompoundsArgs,
            DESCRIPTIONS["similar_compounds"],
        ),
        ToolSpec(
            "compound_bioactivity",
            compound_bioactivity,
            BioactivityArgs,
            DESCRIPTIONS["compound_bioactivity"],
        ),
        ToolSpec("compound_safety", compound_safety, CompoundArgs, DESCRIPTIONS["compound_safety"]),
        ToolSpec(
            "profile_molecules", profile_molecules, ProfileArgs, DESCRIPTIONS["profile_molecules"]
        ),
    ]
