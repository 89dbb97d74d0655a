"""RDKit molecule toolkit: pure functions, no LangChain.

Flat verbs in the style of datamol. Every function takes a *molecule-like*
value (an RDKit ``Mol`` or SMILES / InChI / molblock text); one contract covers
bad input: parsing raises :class:`~biomed_agent.errors.InvalidMoleculeError`
naming the input, and batch verbs (``compute_many_properties``, ``profile_many``,
``to_fingerprints``, ``substructure_search``) share the arguments ``n_jobs``,
``progress`` and ``on_error`` (``"raise"`` or ``"skip"``).

>>> from biomed_agent import molecules as bm
>>> bm.compute_properties("CC(=O)Oc1ccccc1C(=O)O")["inchikey"]
'BSYNRYMUTXBXSQ-UHFFFAOYSA-N'
"""

from biomed_agent.molecules.alerts import StructuralAlerts, alert_catalog, structural_alerts
from biomed_agent.molecules.batch import OnError, parallel_map
from biomed_agent.molecules.depiction import to_png, to_svg
from biomed_agent.molecules.descriptors import (
    MoleculeProperties,
    compute_many_properties,
    compute_properties,
    sa_score,
)
from biomed_agent.molecules.druglikeness import (
    DrugLikeness,
    MoleculeProfile,
    describe_violations,
    drug_likeness,
    lipinski,
    profile,
    profile_many,
    summarise,
    veber,
)
from biomed_agent.molecules.parsing import (
    MolLike,
    quiet_rdkit,
    to_formula,
    to_inchi,
    to_inchikey,
    to_mol,
    to_smiles,
)
from biomed_agent.molecules.similarity import (
    SimilarityHit,
    similarity_search,
    tanimoto_top_k,
    to_fingerprint,
    to_fingerprints,
)
from biomed_agent.molecules.structure import (
    SubstructureHit,
    murcko_scaffold,
    substructure_search,
    to_query,
)

__all__ = [
    "DrugLikeness",
    "MolLike",
    "MoleculeProfile",
    "MoleculeProperties",
    "OnError",
    "SimilarityHit",
    "StructuralAlerts",
    "SubstructureHit",
    "alert_catalog",
    "compute_many_properties",
    "compute_properties",
    "describe_violations",
    "drug_likeness",
    "lipinski",
    "murcko_scaffold",
    "parallel_map",
    "profile",
    "profile_many",
    "quiet_rdkit",
    "sa_score",
    "similarity_search",
    "structural_alerts",
    "substructure_search",
    "summarise",
    "tanimoto_top_k",
    "to_fingerprint",
    "to_fingerprints",
    "to_formula",
    "to_inchi",
    "to_inchikey",
    "to_mol",
    "to_png",
    "to_query",
    "to_smiles",
    "to_svg",
    "veber",
]
