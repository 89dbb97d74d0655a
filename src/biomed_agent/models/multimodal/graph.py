"""SMILES → molecule graph in the feature layout BioMedGPT-10B's GraphMVP encoder was trained on.

Atoms carry two integer features, bonds two, exactly as OpenBioMed's graph
featurizer for GraphMVP (the ``pretrain-gnns`` layout):

* atom: ``[atomic-number index, chirality tag]`` — atomic numbers 1–118 map to
  0–117 and anything else (the dummy atom ``*``) to 118, "misc"; chirality is
  unspecified 0, tetrahedral CW 1, tetrahedral CCW 2. The encoder has no row for
  other tags (allene, square-planar, ...), so they count as unspecified.
* bond: ``[bond type, bond direction]`` — single 0, double 1, triple 2, aromatic 3,
  anything else 4 ("misc", the published list's last entry, which shares its
  index with the encoder's self-loop type); direction none 0, end-up-right 1,
  end-down-right 2 (the ``/`` ``\\`` of double-bond stereo), others 0.

Every bond gives two directed edges (i→j, j→i). Graphs are plain torch tensors,
batched by concatenation with shifted atom indices: no torch-geometric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from rdkit import Chem

__all__ = ["MoleculeGraph", "batch_graphs", "mol_to_graph", "smiles_to_graph"]

MISC_ATOM_INDEX = 118
"""Index of atoms outside 1–118 (the published list's trailing ``misc``)."""

_BOND_TYPE_NAMES = ("SINGLE", "DOUBLE", "TRIPLE", "AROMATIC")
MISC_BOND_TYPE = 4
"""Index of bond types outside single/double/triple/aromatic (dative, ...)."""

_CHIRAL_TAG_NAMES = ("CHI_UNSPECIFIED", "CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW")
_BOND_DIR_NAMES = ("NONE", "ENDUPRIGHT", "ENDDOWNRIGHT")


@dataclass(frozen=True)
class MoleculeGraph:
    """One molecule, or several concatenated by :func:`batch_graphs`.

    ``x``: ``[atoms, 2]`` long; ``edge_index``: ``[2, edges]`` long (source row 0,
    target row 1); ``edge_attr``: ``[edges, 2]`` long; ``atom_counts``: atoms per
    molecule, in order, so per-atom outputs can be split back per molecule.
    """

    x: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor
    atom_counts: tuple[int, ...]

    @property
    def num_atoms(self) -> int:
        return int(self.x.shape[0])

    def to(self, device: torch.device | str) -> MoleculeGraph:
        """The same graph with its tensors on ``device``."""
        return MoleculeGraph(
            self.x.to(device),
            self.edge_index.to(device),
            self.edge_attr.to(device),
            self.atom_counts,
        )


def _index_of(names: Sequence[str], value: object, default: int) -> int:
    name = str(value).rsplit(".", 1)[-1]
    return names.index(name) if name in names else default


def mol_to_graph(mol: Chem.Mol) -> MoleculeGraph:
    """Featurise an RDKit molecule (heavy atoms as parsed; all fragments kept)."""
    atoms = [
        (
            atom.GetAtomicNum() - 1 if 1 <= atom.GetAtomicNum() <= 118 else MISC_ATOM_INDEX,
            _index_of(_CHIRAL_TAG_NAMES, atom.GetChiralTag(), 0),
        )
        for atom in mol.GetAtoms()
    ]
    edges: list[tuple[int, int]] = []
    attrs: list[tuple[int, int]] = []
    for bond in mol.GetBonds():
        begin, end = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        feature = (
            _index_of(_BOND_TYPE_NAMES, bond.GetBondType(), MISC_BOND_TYPE),
            _index_of(_BOND_DIR_NAMES, bond.GetBondDir(), 0),
        )
        edges += [(begin, end), (end, begin)]
        attrs += [feature, feature]
    return MoleculeGraph(
        x=torch.tensor(atoms, dtype=torch.long).reshape(-1, 2),
        edge_index=torch.tensor(edges, dtype=torch.long).reshape(-1, 2).T.contiguous(),
        edge_attr=torch.tensor(attrs, dtype=torch.long).reshape(-1, 2),
        atom_counts=(len(atoms),),
    )


def smiles_to_graph(smiles: str) -> MoleculeGraph:
    """Parse with the molecule toolkit (its errors name the SMILES) and featurise."""
    from biomed_agent.molecules import to_mol

    return mol_to_graph(to_mol(smiles))


def batch_graphs(graphs: Sequence[MoleculeGraph]) -> MoleculeGraph:
    """Concatenate graphs into one disconnected graph, shifting each graph's atom indices."""
    offsets = torch.tensor([0, *[graph.num_atoms for graph in graphs]]).cumsum(0)[:-1]
    return MoleculeGraph(
        x=torch.cat([graph.x for graph in graphs]),
        edge_index=torch.cat(
            [graph.edge_index + offset for graph, offset in zip(graphs, offsets, strict=True)],
            dim=1,
        ),
        edge_attr=torch.cat([graph.edge_attr for graph in graphs]),
        atom_counts=tuple(count for graph in graphs for count in graph.atom_counts),
    )
