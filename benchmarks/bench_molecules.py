"""Benchmark the molecule toolkit against datamol on real molecules.

What is timed (median of ``--repeats`` runs, same molecules, same process):

* ``biomed_agent.molecules.profile_many``: properties (20 values: identifiers, physchem,
  both H-bond conventions, QED, SA) + drug-likeness (Lipinski, Veber, PAINS, Brenk),
  with ``n_jobs=1`` and ``n_jobs=2``;
* ``biomed_agent.molecules.compute_many_properties``: the 20 properties alone;
* the baseline ``datamol.descriptors.batch_compute_many_descriptors`` (22 descriptors
  incl. QED and SA score) with the same ``n_jobs``;
* one-vs-N Tanimoto top-k (``tanimoto_top_k``) over precomputed Morgan fingerprints.

Molecules are real and ship with installed packages (nothing is downloaded or made
up): ChEMBL approved drugs, ChEMBL samples, FreeSolv, the ESOL solubility set and
CDK2 ligands from ``datamol.data``, then the first 5,000 NCI compounds shipped in
RDKit's ``Data/NCI/first_5K.smi``. They are de-duplicated by canonical SMILES in
that order (drug-like sets first) and the first ``--n`` are used.

Run: ``.venv/bin/python benchmarks/bench_molecules.py`` (2,000 molecules) or
``--n 10000`` for the full-size run recorded in docs/benchmarks.md. Needs the
``bench`` extra (datamol).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import datamol as dm
import pandas as pd
from rdkit import Chem, RDConfig

from biomed_agent import molecules as bm
from biomed_agent.molecules.descriptors import MoleculeProperties

OURS_PROPERTIES = len(MoleculeProperties.__annotations__)
OURS_PROFILE = OURS_PROPERTIES + 4  # + Lipinski, Veber, PAINS, Brenk verdicts
DATAMOL_DESCRIPTORS = 22  # datamol.descriptors.compute._DEFAULT_PROPERTIES_FN


def real_smiles() -> Iterator[tuple[str, str]]:
    """(source, SMILES) of every real molecule shipped by datamol and RDKit, drug sets first."""
    data_dir = os.path.dirname(dm.data.__file__)
    approved = pd.read_parquet(os.path.join(data_dir, "chembl_approved_drugs.parquet"))
    yield from (("chembl_approved_drugs", s) for s in approved["smiles"])
    yield from (("chembl_samples", s) for s in dm.data.chembl_samples()["smiles"])
    yield from (("freesolv", s) for s in dm.data.freesolv()["smiles"])
    yield from (("solubility", s) for s in dm.data.solubility()["smiles"])
    yield from (("cdk2", Chem.MolToSmiles(m)) for m in dm.data.cdk2(as_df=False))
    with open(os.path.join(RDConfig.RDDataDir, "NCI", "first_5K.smi")) as handle:
        yield from (("rdkit_nci_first_5k", line.split()[0]) for line in handle if line.strip())


def load_molecules(n: int) -> tuple[list[Chem.Mol], dict[str, int]]:
    """The first ``n`` unique real molecules that RDKit parses, and how many per source."""
    seen: set[str] = set()
    mols: list[Chem.Mol] = []
    per_source: dict[str, int] = {}
    for source, smiles in real_smiles():
        with bm.quiet_rdkit():
            mol = Chem.MolFromSmiles(smiles)
        if mol is None or mol.GetNumAtoms() == 0:
            continue
        key = Chem.MolToSmiles(mol)
        if key in seen:
            continue
        seen.add(key)
        mols.append(mol)
        per_source[source] = per_source.get(source, 0) + 1
        if len(mols) == n:
            break
    return mols, per_source


def median_seconds(func: Callable[[], Any], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def check_same_values(mols: list[Chem.Mol]) -> None:
    """Guard against comparing different work: shared descriptors must agree with datamol."""
    ours = bm.compute_many_properties(mols[:200])
    theirs = dm.descriptors.batch_compute_many_descriptors(mols[:200])
    for row, (_, ref) in zip(ours, theirs.iterrows(), strict=True):
        assert row is not None
        assert abs(row["qed"] - ref["qed"]) < 1e-3
        assert abs(row["sa_score"] - ref["sas"]) < 1e-3
        assert abs(row["tpsa"] - ref["tpsa"]) < 1e-3
        assert row["hbd_lipinski"] == ref["n_lipinski_hbd"]
        assert row["hba_lipinski"] == ref["n_lipinski_hba"]


def bench_descriptors(mols: list[Chem.Mol], repeats: int) -> None:
    n = len(mols)
    # warm both: FilterCatalogs, SA fragment scores, QED patterns load once per process
    bm.profile_many(mols[:5])
    dm.descriptors.batch_compute_many_descriptors(mols[:5])
    check_same_values(mols)
    print(f"\n{'task':<52}{'n_jobs':>7}{'median s':>10}{'mol/s':>9}{'values/s':>11}")
    for n_jobs in (1, 2):
        runs: dict[str, tuple[float, int]] = {
            "datamol batch_compute_many_descriptors (baseline)": (
                median_seconds(
                    # batch_size="auto": datamol's default None is rejected by joblib >= 1.5
                    lambda j=n_jobs: dm.descriptors.batch_compute_many_descriptors(
                        mols, n_jobs=j, batch_size="auto"
                    ),
                    repeats,
                ),
                DATAMOL_DESCRIPTORS,
            ),
            "biomed_agent profile_many (properties+drug-likeness)": (
                median_seconds(lambda j=n_jobs: bm.profile_many(mols, n_jobs=j), repeats),
                OURS_PROFILE,
            ),
            "biomed_agent compute_many_properties": (
                median_seconds(
                    lambda j=n_jobs: bm.compute_many_properties(mols, n_jobs=j), repeats
                ),
                OURS_PROPERTIES,
            ),
        }
        base_seconds, base_values = next(iter(runs.values()))
        for name, (seconds, values) in runs.items():
            rate = n / seconds
            print(f"{name:<52}{n_jobs:>7}{seconds:>10.2f}{rate:>9.0f}{rate * values:>11.0f}")
        for name, (seconds, values) in list(runs.items())[1:]:
            per_mol = base_seconds / seconds
            per_value = per_mol * values / base_values
            print(
                f"  ratio vs datamol, n_jobs={n_jobs}, {name.split(' (')[0]}: "
                f"{per_mol:.2f}x molecules/s, {per_value:.2f}x per descriptor computed"
            )


def bench_tanimoto(mols: list[Chem.Mol], repeats: int) -> None:
    fps = [fp for fp in bm.to_fingerprints(mols) if fp is not None]
    query = bm.to_fingerprint(mols[0])
    timings = []
    for _ in range(max(repeats, 1) * 20):
        start = time.perf_counter()
        bm.tanimoto_top_k(query, fps, k=10)
        timings.append(time.perf_counter() - start)
    print(
        f"\none-vs-{len(fps)} Tanimoto top-10 (Morgan r=2, 2048 bits, fingerprints precomputed): "
        f"median {statistics.median(timings) * 1e3:.2f} ms over {len(timings)} runs "
        "(target < 10 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2_000, help="molecules (full run: 10000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per task (median)")
    args = parser.parse_args()
    mols, per_source = load_molecules(args.n)
    print(f"{len(mols)} unique real molecules (by canonical SMILES): {per_source}")
    if len(mols) < args.n:
        print(f"only {len(mols)} unique real molecules are available, fewer than --n {args.n}")
    print(
        f"machine: {os.cpu_count()} CPUs; datamol {dm.__version__}; "
        f"RDKit {Chem.rdBase.rdkitVersion}"
    )
    bench_descriptors(mols, args.repeats)
    bench_tanimoto(mols, args.repeats)


if __name__ == "__main__":
    main()
