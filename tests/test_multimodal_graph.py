"""Molecule graphs for BioMedGPT-10B and the GraphMVP GIN encoder that reads them."""

from __future__ import annotations

import pytest
import torch

from biomed_agent.errors import InvalidMoleculeError
from biomed_agent.models.multimodal.gin import GINEncoder
from biomed_agent.models.multimodal.graph import MoleculeGraph, batch_graphs, smiles_to_graph
from tests.helpers.tiny_biomedgpt10b import published_keys


def edges(graph: MoleculeGraph) -> list[tuple[int, int, int, int]]:
    """(source, target, bond type, bond direction) per directed edge."""
    return [
        (s, t, kind, direction)
        for (s, t), (kind, direction) in zip(
            graph.edge_index.T.tolist(), graph.edge_attr.tolist(), strict=True
        )
    ]


def test_single_atom_has_no_edges() -> None:
    graph = smiles_to_graph("C")
    assert graph.x.tolist() == [[5, 0]]  # carbon: atomic number 6 -> index 5
    assert graph.edge_index.shape == (2, 0)
    assert graph.edge_attr.shape == (0, 2)
    assert graph.atom_counts == (1,)


def test_charged_atoms_keep_element_and_charge_is_not_a_feature() -> None:
    ammonium = smiles_to_graph("[NH4+]")
    assert ammonium.x.tolist() == [[6, 0]]
    quaternary = smiles_to_graph("C[N+](C)(C)C")
    assert quaternary.x.tolist() == [[5, 0], [6, 0], [5, 0], [5, 0], [5, 0]]
    assert sorted(edges(quaternary)) == sorted(
        [(0, 1, 0, 0), (1, 0, 0, 0)]
        + [(1, j, 0, 0) for j in (2, 3, 4)]
        + [(j, 1, 0, 0) for j in (2, 3, 4)]
    )


def test_tetrahedral_stereo_is_the_chirality_feature() -> None:
    assert smiles_to_graph("C[C@@H](N)O").x[:, 1].tolist() == [0, 1, 0, 0]  # CW
    assert smiles_to_graph("C[C@H](N)O").x[:, 1].tolist() == [0, 2, 0, 0]  # CCW
    assert smiles_to_graph("CC(N)O").x[:, 1].tolist() == [0, 0, 0, 0]


def test_double_bond_stereo_is_the_bond_direction_feature() -> None:
    trans = edges(smiles_to_graph("F/C=C/F"))
    cis = edges(smiles_to_graph("F/C=C\\F"))
    assert trans == [
        (0, 1, 0, 1),
        (1, 0, 0, 1),
        (1, 2, 1, 0),
        (2, 1, 1, 0),
        (2, 3, 0, 1),
        (3, 2, 0, 1),
    ]
    assert cis[-2:] == [(2, 3, 0, 2), (3, 2, 0, 2)]  # end-down-right


def test_aromatic_ring_bonds_both_directions() -> None:
    graph = smiles_to_graph("c1ccccc1")
    assert graph.x.tolist() == [[5, 0]] * 6
    found = edges(graph)
    assert len(found) == 12
    assert {kind for _, _, kind, _ in found} == {3}
    assert {(t, s) for s, t, _, _ in found} == {(s, t) for s, t, _, _ in found}


def test_disconnected_salt_keeps_every_fragment() -> None:
    graph = smiles_to_graph("CC(=O)[O-].[Na+]")
    assert graph.x[:, 0].tolist() == [5, 5, 7, 7, 10]
    assert graph.atom_counts == (5,)
    assert all(4 not in (s, t) for s, t, _, _ in edges(graph))  # sodium has no bond
    assert smiles_to_graph("[Na+].[Cl-]").x.tolist() == [[10, 0], [16, 0]]


def test_dummy_atom_and_dative_bond_use_the_misc_rows() -> None:
    assert smiles_to_graph("*C").x[:, 0].tolist() == [118, 5]
    assert {kind for _, _, kind, _ in edges(smiles_to_graph("N->[Cu]"))} == {4}


def test_invalid_smiles_is_reported_by_the_molecule_toolkit() -> None:
    with pytest.raises(InvalidMoleculeError, match="C1CC"):
        smiles_to_graph("C1CC")


def test_batch_shifts_atom_indices_and_records_counts() -> None:
    first, second = smiles_to_graph("CO"), smiles_to_graph("C=C")
    batch = batch_graphs([first, second])
    assert batch.atom_counts == (2, 2)
    assert batch.x.tolist() == [[5, 0], [7, 0], [5, 0], [5, 0]]
    assert edges(batch) == [(0, 1, 0, 0), (1, 0, 0, 0), (2, 3, 1, 0), (3, 2, 1, 0)]


@pytest.fixture
def encoder() -> GINEncoder:
    torch.manual_seed(0)
    gin = GINEncoder(num_layers=3, hidden=8)
    for norm in gin.batch_norms:
        norm.running_mean.normal_()
        norm.running_var.uniform_(0.5, 1.5)
    return gin.eval()


def test_parameter_names_match_the_published_checkpoint(encoder: GINEncoder) -> None:
    names = {f"mol_structure_encoder.{key}" for key in encoder.state_dict()}
    expected = {k for k in published_keys(3, 0, 0) if k.startswith("mol_structure_encoder.")}
    assert names == expected


def reference_gin(gin: GINEncoder, graph: MoleculeGraph) -> torch.Tensor:
    """The same network written with a dense adjacency tensor, one atom pair at a time."""
    n = graph.num_atoms
    h = gin.x_embedding1.weight[graph.x[:, 0]] + gin.x_embedding2.weight[graph.x[:, 1]]
    for index, (layer, norm) in enumerate(zip(gin.gnns, gin.batch_norms, strict=True)):
        summed = torch.zeros_like(h)
        for (s, t), (kind, direction) in zip(
            graph.edge_index.T.tolist(), graph.edge_attr.tolist(), strict=True
        ):
            summed[t] += (
                h[s] + layer.edge_embedding1.weight[kind] + layer.edge_embedding2.weight[direction]
            )
        for atom in range(n):  # self-loop: bond type 4, direction 0
            summed[atom] += (
                h[atom] + layer.edge_embedding1.weight[4] + layer.edge_embedding2.weight[0]
            )
        out = layer.mlp(summed)
        out = (out - norm.running_mean) / torch.sqrt(
            norm.running_var + norm.eps
        ) * norm.weight + norm.bias
        h = out if index == len(gin.gnns) - 1 else torch.relu(out)
    return h


@torch.no_grad()
def test_encoder_matches_a_dense_reference(encoder: GINEncoder) -> None:
    graph = smiles_to_graph("C[C@H](N)c1ccccc1/C=C/F")
    out = encoder(graph)
    assert out.shape == (graph.num_atoms, 8)
    torch.testing.assert_close(out, reference_gin(encoder, graph), rtol=1e-5, atol=1e-5)
    assert (out < 0).any(), "the last layer has no ReLU"


@torch.no_grad()
def test_batched_molecules_do_not_see_each_other(encoder: GINEncoder) -> None:
    smiles = ["CCO", "c1ccncc1", "[Na+].[Cl-]", "C"]
    graphs = [smiles_to_graph(s) for s in smiles]
    together = encoder(batch_graphs(graphs)).split([g.num_atoms for g in graphs])
    for graph, batched in zip(graphs, together, strict=True):
        torch.testing.assert_close(batched, encoder(graph))
