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
up), de-duplicated by canonical SMILES in this order, drug-like sets first, and
the first ``--n`` are used: ChEMBL approved drugs and ChEMBL samples
(``datamol.data``), the 10,000 WEHI screening-library compounds RDKit ships to
test PAINS (``Data/Pains/test_data/wehi_mols.csv``), then CDK2 ligands, the ESOL
solubility set and FreeSolv (``datamol.data``) and the first 5,000 NCI compounds
(RDKit ``Data/NCI/first_5K.smi``). Before timing, every molecule's QED and
PAINS/Brenk alerts are checked against RDKit's unscreened functions.

Run: ``.venv/bin/python benchmarks/bench_molecules.py`` (2,000 molecules) or
``--n 10000`` for the full-size run recorded in docs/benchmarks.md. Needs the
``bench`` extra (datamol).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import datamol as dm
import pandas as pd
from rdkit import Chem, RDConfig
from rdkit.Chem import QED

from biomed_agent import molecules as bm
from biomed_agent.molecules.descriptors import MoleculeProperties

OURS_PROPERTIES = len(MoleculeProperties.__annotations__)
OURS_PROFILE = OURS_PROPERTIES + 4  # + Lipinski, Veber, PAINS, Brenk verdicts
DATAMOL_DESCRIPTORS = 22  # datamol.descriptors.compute._DEFAULT_PROPERTIES_FN


def real_smiles() -> Iterator[tuple[str, str]]:
    """(source, SMILES) of real molecules shipped by datamol and RDKit, drug-like sets first."""
    data_dir = os.path.dirname(dm.data.__file__)
    approved = pd.read_parquet(os.path.join(data_dir, "chembl_approved_drugs.parquet"))
    yield from (("chembl_approved_drugs", s) for s in approved["smiles"])
    yield from (("chembl_samples", s) for s in dm.data.chembl_samples()["smiles"])
    with open(os.path.join(RDConfig.RDDataDir, "Pains", "test_data", "wehi_mols.csv")) as handle:
        yield from (("wehi_screening_library", row[0]) for row in csv.reader(handle))
    yield from (("cdk2", Chem.MolToSmiles(m)) for m in dm.data.cdk2(as_df=False))
    yield from (("solubility", s) for s in dm.data.solubility()["smiles"])
    yield from (("freesolv", s) for s in dm.data.freesolv()["smiles"])
    with open(os.path.join(RDConfig.RDDataDir, "NCI", "first_5K.smi")) as handle:
        yield from (("rdkit_nci_first_5k", line.split()[0]) for line in handle if line.strip())


def load_smiles(n: int) -> tuple[list[str], dict[str, int]]:
    """The first ``n`` unique (canonical SMILES) real molecules RDKit parses, and their sources."""
    seen: dict[str, None] = {}
    per_source: dict[str, int] = {}
    for source, smiles in real_smiles():
        with bm.quiet_rdkit():
            mol = Chem.MolFromSmiles(smiles)
        if mol is None or mol.GetNumAtoms() == 0:
            continue
        key = Chem.MolToSmiles(mol)
        if key in seen:
            continue
        seen[key] = None
        per_source[source] = per_source.get(source, 0) + 1
        if len(seen) == n:
            break
    return list(seen), per_source


def fresh_mols(smiles: list[str]) -> list[Chem.Mol]:
    """New Mol objects: RDKit caches some descriptors (logP, TPSA) on a Mol it has seen."""
    return [Chem.MolFromSmiles(s) for s in smiles]


def median_seconds(func: Callable[[list[Chem.Mol]], Any], smiles: list[str], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        mols = fresh_mols(smiles)
        start = time.perf_counter()
        func(mols)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def verify(smiles: list[str]) -> None:
    """The screened QED and alerts equal RDKit's unscreened ones; shared values equal datamol's."""
    mols = fresh_mols(smiles)
    catalog = bm.alert_catalog()
    with bm.quiet_rdkit():  # datamol's QED warns about lone H atoms on stderr
        theirs = dm.descriptors.batch_compute_many_descriptors(mols)
    for mol, result, (_, ref) in zip(mols, bm.profile_many(mols), theirs.iterrows(), strict=True):
        assert result is not None
        props, alerts = result["properties"], result["drug_likeness"]["alerts"]
        with bm.quiet_rdkit():
            assert props["qed"] == round(QED.qed(mol), 4) and abs(props["qed"] - ref["qed"]) < 1e-4
        assert (
            abs(props["sa_score"] - ref["sas"]) < 1e-4 and abs(props["tpsa"] - ref["tpsa"]) < 1e-4
        )
        assert (props["hbd_lipinski"], props["hba_lipinski"]) == (
            ref["n_lipinski_hbd"],
            ref["n_lipinski_hba"],
        )
        entries = catalog.GetMatches(mol)
        assert alerts["pains"] + alerts["brenk"] == sorted(
            {e.GetDescription() for e in entries if e.GetProp("FilterSet").startswith("PAINS")}
        ) + sorted(
            {e.GetDescription() for e in entries if not e.GetProp("FilterSet").startswith("PAINS")}
        )
    print(
        f"verified on {len(mols)} molecules: QED == RDKit QED.qed, PAINS/Brenk == "
        "FilterCatalog.GetMatches, SA/TPSA/Lipinski counts == datamol"
    )


def bench_descriptors(smiles: list[str], repeats: int) -> None:
    n = len(smiles)
    # warm both: FilterCatalogs, SA fragment scores, QED patterns load once per process
    bm.profile_many(fresh_mols(smiles[:5]))
    dm.descriptors.batch_compute_many_descriptors(fresh_mols(smiles[:5]))
    print(f"\n{'task':<54}{'n_jobs':>7}{'median s':>10}{'mol/s':>8}{'values/s':>10}")
    for n_jobs in (1, 2):
        runs: dict[str, tuple[float, int]] = {
            "datamol batch_compute_many_descriptors (baseline)": (
                median_seconds(
                    # batch_size="auto": datamol's default None is rejected by joblib >= 1.5
                    partial(
                        dm.descriptors.batch_compute_many_descriptors,
                        n_jobs=n_jobs,
                        batch_size="auto",
                    ),
                    smiles,
                    repeats,
                ),
                DATAMOL_DESCRIPTORS,
            ),
            "biomed_agent profile_many (properties+drug-likeness)": (
                median_seconds(partial(bm.profile_many, n_jobs=n_jobs), smiles, repeats),
                OURS_PROFILE,
            ),
            "biomed_agent compute_many_properties": (
                median_seconds(partial(bm.compute_many_properties, n_jobs=n_jobs), smiles, repeats),
                OURS_PROPERTIES,
            ),
        }
        base_seconds, base_values = next(iter(runs.values()))
        for name, (seconds, values) in runs.items():
            rate = n / seconds
            print(f"{name:<54}{n_jobs:>7}{seconds:>10.2f}{rate:>8.0f}{rate * values:>10.0f}")
        for name, (seconds, values) in list(runs.items())[1:]:
            per_mol = base_seconds / seconds
            per_value = per_mol * values / base_values
            print(
                f"  vs datamol, n_jobs={n_jobs}, {name.split(' (')[0]}: "
                f"{per_mol:.2f}x molecules/s, {per_value:.2f}x per descriptor computed"
            )


def bench_tanimoto(smiles: list[str], repeats: int) -> None:
    fps = [fp for fp in bm.to_fingerprints(fresh_mols(smiles)) if fp is not None]
    query = bm.to_fingerprint(smiles[0])
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
    checks = parser.add_mutually_exclusive_group()
    checks.add_argument(
        "--no-verify", action="store_true", help="skip checking results against RDKit/datamol"
    )
    checks.add_argument("--verify-only", action="store_true", help="check results, time nothing")
    args = parser.parse_args()
    smiles, per_source = load_smiles(args.n)
    print(f"{len(smiles)} unique real molecules (by canonical SMILES): {per_source}")
    if len(smiles) < args.n:
        print(f"only {len(smiles)} unique real molecules are available, fewer than --n {args.n}")
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
        f"datamol {dm.__version__}; RDKit {Chem.rdBase.rdkitVersion}"
    )
    if not args.no_verify:
        verify(smiles)
    if args.verify_only:
        return
    bench_descriptors(smiles, args.repeats)
    bench_tanimoto(smiles, args.repeats)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
