"""The GraphMVP GIN molecule encoder of BioMedGPT-10B, in pure torch.

Same computation and parameter names as OpenBioMed's ``GNNGraphMVP`` with
``gnn_type="gin"``, ``JK="last"`` (so a published ``mol_structure_encoder.*``
state dict loads unchanged): atom embedding = atomic-number row + chirality row;
each layer adds a self-loop per atom (bond type 4, direction 0), sums
``h[source] + bond embedding`` over incoming edges, applies a two-layer MLP and
batch norm, then ReLU on every layer but the last. The output is one vector per
atom. Inference only: dropout is the identity in eval mode, so it is left out.
"""

from __future__ import annotations

import torch
from torch import nn

from biomed_agent.models.multimodal.graph import MoleculeGraph

__all__ = ["GINEncoder", "GINLayer"]

NUM_ATOM_TYPES = 120  # 118 elements + misc + the pre-training mask token
NUM_CHIRALITY_TAGS = 3
NUM_BOND_TYPES = 6  # single, double, triple, aromatic, self-loop, mask
NUM_BOND_DIRECTIONS = 3
SELF_LOOP_BOND_TYPE = 4


class GINLayer(nn.Module):
    """One graph-isomorphism layer with bond-type and bond-direction edge embeddings."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(hidden, 2 * hidden), nn.ReLU(), nn.Linear(2 * hidden, hidden)
        )
        self.edge_embedding1 = nn.Embedding(NUM_BOND_TYPES, hidden)
        self.edge_embedding2 = nn.Embedding(NUM_BOND_DIRECTIONS, hidden)

    def forward(
        self, h: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor
    ) -> torch.Tensor:
        atoms = torch.arange(h.shape[0], device=h.device)
        source = torch.cat([edge_index[0], atoms])
        target = torch.cat([edge_index[1], atoms])
        self_loops = torch.zeros((h.shape[0], 2), dtype=edge_attr.dtype, device=h.device)
        self_loops[:, 0] = SELF_LOOP_BOND_TYPE
        attr = torch.cat([edge_attr, self_loops])
        messages = h[source] + self.edge_embedding1(attr[:, 0]) + self.edge_embedding2(attr[:, 1])
        summed = torch.zeros_like(h).index_add_(0, target, messages)
        return self.mlp(summed)


class GINEncoder(nn.Module):
    """``num_layers`` GIN layers with batch norm; returns ``[atoms, hidden]`` (last layer)."""

    def __init__(self, num_layers: int = 5, hidden: int = 300) -> None:
        super().__init__()
        self.hidden = hidden
        self.x_embedding1 = nn.Embedding(NUM_ATOM_TYPES, hidden)
        self.x_embedding2 = nn.Embedding(NUM_CHIRALITY_TAGS, hidden)
        self.gnns = nn.ModuleList(GINLayer(hidden) for _ in range(num_layers))
        self.batch_norms = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in range(num_layers))

    def forward(self, graph: MoleculeGraph) -> torch.Tensor:
        h = self.x_embedding1(graph.x[:, 0]) + self.x_embedding2(graph.x[:, 1])
        last = len(self.gnns) - 1
        for index, (gnn, norm) in enumerate(zip(self.gnns, self.batch_norms, strict=True)):
            h = norm(gnn(h, graph.edge_index, graph.edge_attr))
            if index != last:
                h = torch.relu(h)
        return h
