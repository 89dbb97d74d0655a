"""Replay routes for the drug-discovery tools (issue 16), on top of the recorded ones.

Real recordings: the UniProt P30542 entry (DrugBank/ChEMBL/GtoPdb cross-references) and
benzene's GHS classification (a PUG-View record of cheminfo/pubchem, cut to the
``heading=GHS Classification`` view). Everything else is built in PubChem's documented
formats (files named ``*_synthetic.json``, see ``tests/fixtures/SOURCES.md``): name -> CID
answers, PropertyTables (served for any requested subset of CIDs), the concise bioactivity
of P30542, theophylline's assay summary, gene summaries, a 2D-similarity answer for
caffeine, a ``Waiting``/``ListKey`` answer and theophylline's GHS classification.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from biomed_agent.retrievers.pubchem import REQUESTED_PROPERTIES
from tests.helpers.replay_server import (
    FIXTURES,
    PUBCHEM,
    UNIPROT,
    ReplayServer,
    Reply,
    Request,
    _gene_query,
)

_PUBCHEM_DIR = FIXTURES / "pubchem"
PROPERTIES_FILE = _PUBCHEM_DIR / "discovery_compound_properties_synthetic.json"
NAMES_FILE = _PUBCHEM_DIR / "compound_name_cids_discovery_synthetic.json"
WAITING_FILE = _PUBCHEM_DIR / "compound_listkey_waiting_synthetic.json"
LIST_KEY = "2856919462378490118"
GHS = "GHS Classification"


def _json_reply(payload: Any) -> Reply:
    return Reply(200, json.dumps(payload).encode())


def property_rows() -> dict[int, dict[str, Any]]:
    table = json.loads(PROPERTIES_FILE.read_text())["PropertyTable"]["Properties"]
    return {int(row["CID"]): row for row in table}


def property_table(rows: dict[int, dict[str, Any]]) -> Any:
    """PropertyTable answers for the requested ``cid`` list (unknown CIDs left out; none: 404)."""

    def answer(request: Request) -> Reply:
        wanted = [int(c) for c in request.params.get("cid", "").split(",") if c.strip()]
        found = [rows[c] for c in wanted if c in rows]
        if not found:
            return Reply(404, b'{"Fault": {"Code": "PUGREST.NotFound", "Message": "No CID found"}}')
        return _json_reply({"PropertyTable": {"Properties": found}})

    return answer


def assay_summary(payload: dict[str, Any]) -> Any:
    """The recorded table's rows of the requested ``cid`` list (none: PubChem's 404)."""
    table = payload["Table"]
    position = table["Columns"]["Column"].index("CID")

    def answer(request: Request) -> Reply:
        wanted = set(request.params.get("cid", "").split(","))
        rows = [row for row in table["Row"] if row["Cell"][position] in wanted]
        if not rows:
            return Reply(404, b'{"Fault": {"Code": "PUGREST.NotFound", "Message": "No data"}}')
        return _json_reply({"Table": {"Columns": table["Columns"], "Row": rows}})

    return answer


def _file(name: str) -> bytes:
    return (_PUBCHEM_DIR / name).read_bytes()


def install_discovery(server: ReplayServer, fixtures: Path = FIXTURES) -> None:
    """Add the discovery routes (call after ``install_recorded``/``install_agent_routes``)."""
    rows = property_rows()
    server.route(
        "POST",
        PUBCHEM + "/pug/compound/cid/property/" + ",".join(REQUESTED_PROPERTIES) + "/JSON",
        property_table(rows),
    )
    for name, payload in json.loads(NAMES_FILE.read_text()).items():
        path = f"{PUBCHEM}/pug/compound/name/{name}/cids/JSON"
        server.route("GET", path, _json_reply(payload))
        server.route("GET", path.replace(name, name.capitalize()), _json_reply(payload))
    server.route(
        "GET",
        f"{PUBCHEM}/pug/compound/fastsimilarity_2d/cid/2519/cids/JSON",
        Reply(200, _file("compound_fastsimilarity_2d_cid_2519_cids_synthetic.json")),
    )
    server.route(
        "POST",
        f"{PUBCHEM}/pug/compound/cid/assaysummary/JSON",
        assay_summary(json.loads(_file("compound_cid_2153_assaysummary_synthetic.json"))),
    )
    server.route(
        "GET",
        f"{PUBCHEM}/pug/protein/accession/P30542/concise/JSON",
        Reply(200, _file("protein_accession_P30542_concise_synthetic.json")),
    )
    server.route(
        "POST",
        f"{PUBCHEM}/pug/gene/geneid/summary/JSON",
        Reply(200, _file("gene_geneid_134_135_5141_summary_synthetic.json")),
    )
    server.route(
        "GET",
        f"{PUBCHEM}/pug_view/data/compound/2153/JSON",
        Reply(200, _file("pug_view_compound_2153_ghs_classification_synthetic.json")),
        params={"heading": GHS},
    )
    server.route(
        "GET",
        f"{PUBCHEM}/pug_view/data/compound/241/JSON",
        Reply(200, _file("pug_view_compound_241_ghs_classification_derived.json")),
        params={"heading": GHS},
    )
    entry = json.loads((fixtures / "uniprot/uniprotkb_P30542_entry_2023.json").read_text())
    server.route(
        "GET",
        f"{UNIPROT}/uniprotkb/search",
        _json_reply({"results": [entry]}),
        params={"query": _gene_query("adenosine A1 receptor") + " AND organism_id:9606"},
    )


def waiting_reply() -> Reply:
    """PubChem's asynchronous answer: HTTP 202 with a ``Waiting`` ListKey."""
    return Reply(202, WAITING_FILE.read_bytes())
