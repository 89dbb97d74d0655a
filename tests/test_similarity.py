"""Similarity search against RDKit's own scoring, argpartition top-k, the fingerprint cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, DataStructs, RDConfig
from rdkit.Chem import rdFingerprintGenerator

from biomed_agent.molecules import similarity
from biomed_agent.molecules.similarity import (
    _top_k_order,
    clear_fingerprint_cache,
    similarity_search,
    tanimoto_top_k,
)


def _nci(n: int) -> list[str]:
    """The first ``n`` parseable SMILES of RDKit's shipped NCI set (real molecules)."""
    path = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
    out = []
    for line in path.read_text().splitlines():
        smiles = line.split()[0]
        if Chem.MolFromSmiles(smiles) is not None:
            out.append(smiles)
        if len(out) == n:
            break
    return out


@pytest.fixture(autouse=True)
def _cold_cache() -> None:
    clear_fingerprint_cache()


@pytest.mark.parametrize("k", [1, 3, 7, 50, 199, 200, 500])
def test_top_k_equals_a_full_stable_sort(k: int) -> None:
    rng = np.random.default_rng(k)
    scores = rng.integers(0, 12, size=200) / 11.0  # many ties
    expected = np.argsort(-scores, kind="stable")[:k]
    np.testing.assert_array_equal(_top_k_order(scores, k), expected)


def test_search_equals_raw_rdkit_bulk_tanimoto() -> None:
    """Outside reference: RDKit's own parse, Morgan generator and BulkTanimotoSimilarity."""
    smiles = _nci(400)
    query = smiles[17]
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    scores = DataStructs.BulkTanimotoSimilarity(
        generator.GetFingerprint(Chem.MolFromSmiles(query)), fps
    )
    expected = sorted(range(len(smiles)), key=lambda i: (-scores[i], i))[:10]
    hits = similarity_search(query, smiles, k=10)
    assert [h["index"] for h in hits] == expected
    assert [h["similarity"] for h in hits] == [round(scores[i], 4) for i in expected]
    assert hits[0] == {"index": 17, "smiles": query, "similarity": 1.0}
    query_fp = generator.GetFingerprint(Chem.MolFromSmiles(query))
    assert [i for i, _ in tanimoto_top_k(query_fp, fps, k=10)] == expected


def test_same_candidate_list_is_fingerprinted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    smiles = _nci(60)
    calls: list[int] = []
    real = similarity.parallel_map

    def counting(func: object, items: list[str], **kwargs: object) -> object:
        calls.append(len(items))
        return real(func, items, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(similarity, "parallel_map", counting)
    first = similarity_search(smiles[0], smiles, k=5)
    assert similarity_search(smiles[0], list(smiles), k=5) == first  # equal content: cached
    assert similarity_search(smiles[3], smiles, k=2)[0]["index"] == 3
    assert calls == [60]
    similarity_search(smiles[0], [*smiles[:-1], "CCO"], k=5)  # one candidate differs
    similarity_search(smiles[0], smiles, k=5, radius=3)  # other fingerprint parameters
    similarity_search(smiles[0], [Chem.MolFromSmiles(s) for s in smiles[:5]], k=1)  # Mols
    similarity_search(smiles[0], [Chem.MolFromSmiles(s) for s in smiles[:5]], k=1)
    assert calls == [60, 60, 60, 5, 5]


def test_skip_and_raise_do_not_share_a_cache_entry() -> None:
    candidates = ["CCO", "C1CC", "CCN"]
    assert [h["index"] for h in similarity_search("CCO", candidates, on_error="skip")] == [0, 2]
    with pytest.raises(Exception, match="candidate 1"):
        similarity_search("CCO", candidates)


def test_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(similarity, "CACHE_MAX_FINGERPRINTS", 100)
    smiles = _nci(150)
    for start in range(0, 150, 30):
        similarity_search("CCO", smiles[start : start + 60], k=1)
    assert sum(len(fps) for _, fps in similarity._CACHE.values()) <= 100
    similarity_search("CCO", smiles, k=1)  # larger than the whole cache: not kept
    assert sum(len(fps) for _, fps in similarity._CACHE.values()) <= 100
