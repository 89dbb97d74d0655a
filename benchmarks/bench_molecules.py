"""Benchmark the molecule toolkit against datamol on real molecules.

What is timed (median of ``--repeats`` alternating rounds, same molecules, same process):

* ``biomed_agent.molecules.profile_many``: properties (20 values: identifiers, physchem,
  both H-bond conventions, QED, SA) + drug-likeness (Lipinski, Veber, PAINS, Brenk),
  with ``n_jobs=1`` and ``n_jobs=2``;
* ``biomed_agent.molecules.compute_many_properties``: the 20 properties alone;
* the baseline ``datamol.descriptors.batch_compute_many_descriptors`` (22 descriptors
  incl. QED and SA score) with the same ``n_jobs``;
* ``molecule_similarity`` (the tool) top-10 over all molecules against raw RDKit (parse,
  Morgan generator, ``BulkTanimotoSimilarity``, argsort), cold and with its fingerprint
  cache, and ``tanimoto_top_k`` against raw ``BulkTanimotoSimilarity`` + a stable sort.

Arms alternate (the order rotates each round), every arm is warmed first (datamol's
loky workers included), CPU-seconds are reported beside wall time with the load
average. "Per descriptor, by cost" weighs each descriptor by what RDKit itself takes
to compute it (timed one function per value on 300 of the molecules): it is the
ratio of raw-RDKit-equivalent work per second, ours over datamol's.

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


SAME_FUNCTION = {
    "datamol:mw": "exact_mass",  # datamol's "mw" is CalcExactMolWt
    "datamol:fsp3": "fraction_csp3",
    "datamol:n_lipinski_hba": "hba_lipinski",
    "datamol:n_lipinski_hbd": "hbd_lipinski",
    "datamol:n_rings": "ring_count",
    "datamol:n_heavy_atoms": "heavy_atom_count",
    "datamol:n_rotatable_bonds": "rotatable_bonds",
    "datamol:tpsa": "tpsa",
    "datamol:qed": "qed",
    "datamol:clogp": "logp",  # Crippen.MolLogP
    "datamol:sas": "sa_score",  # RDKit Contrib sascorer.calculateScore
    "datamol:n_aromatic_rings": "aromatic_ring_count",
}
"""Datamol values computed by the very RDKit function one of ours is priced with: one price
for both (pricing the same function twice only adds noise to one side)."""


def raw_costs(smiles: list[str], rounds: int = 3) -> dict[str, float]:
    """Seconds per molecule of each descriptor computed by RDKit directly (one function per
    value, fresh ``Mol`` objects for each so no cached value is reused), on ``smiles``:
    every function warmed first (datamol's SA score loads its fragment table on its first
    call), then the median of ``rounds`` passes; a function both sides use is priced once."""
    from rdkit.Chem import Crippen, Descriptors, rdMolDescriptors
    from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

    from biomed_agent.molecules.descriptors import _sascorer

    def catalog(which: Any) -> Callable[[Chem.Mol], Any]:
        params = FilterCatalogParams()
        params.AddCatalog(which)
        built = FilterCatalog(params)
        return built.GetMatches

    inchis = {}
    ours: dict[str, Callable[[Chem.Mol], Any]] = {
        "canonical_smiles": Chem.MolToSmiles,
        "inchi": Chem.MolToInchi,
        "inchikey": lambda m: Chem.InchiToInchiKey(inchis[Chem.MolToSmiles(m)]),
        "formula": rdMolDescriptors.CalcMolFormula,
        "molecular_weight": Descriptors.MolWt,
        "exact_mass": rdMolDescriptors.CalcExactMolWt,
        "logp": Crippen.MolLogP,
        "tpsa": rdMolDescriptors.CalcTPSA,
        "hbd": rdMolDescriptors.CalcNumHBD,
        "hba": rdMolDescriptors.CalcNumHBA,
        "hbd_lipinski": rdMolDescriptors.CalcNumLipinskiHBD,
        "hba_lipinski": rdMolDescriptors.CalcNumLipinskiHBA,
        "rotatable_bonds": rdMolDescriptors.CalcNumRotatableBonds,
        "ring_count": rdMolDescriptors.CalcNumRings,
        "aromatic_ring_count": rdMolDescriptors.CalcNumAromaticRings,
        "heavy_atom_count": rdMolDescriptors.CalcNumHeavyAtoms,
        "fraction_csp3": rdMolDescriptors.CalcFractionCSP3,
        "formal_charge": Chem.GetFormalCharge,
        "qed": QED.qed,
        "sa_score": _sascorer().calculateScore,
        "pains": catalog(FilterCatalogParams.FilterCatalogs.PAINS),
        "brenk": catalog(FilterCatalogParams.FilterCatalogs.BRENK),
    }
    with bm.quiet_rdkit():
        for text in smiles:
            mol = Chem.MolFromSmiles(text)
            inchis[Chem.MolToSmiles(mol)] = Chem.MolToInchi(mol)
        theirs = {
            f"datamol:{name}": fn
            for name, fn in dm.descriptors.compute._DEFAULT_PROPERTIES_FN.items()
        }
        functions = {**ours, **{k: f for k, f in theirs.items() if k not in SAME_FUNCTION}}
        for fn in functions.values():  # warm-up: one-off loads are not per-molecule work
            for mol in fresh_mols(smiles[:5]):
                fn(mol)
        runs: dict[str, list[float]] = {name: [] for name in functions}
        for _ in range(rounds):
            for name, fn in functions.items():
                mols = fresh_mols(smiles)
                start = time.process_time()
                for mol in mols:
                    fn(mol)
                runs[name].append((time.process_time() - start) / len(mols))
        costs = {name: statistics.median(times) for name, times in runs.items()}
        costs.update(
            {theirs_name: costs[ours_name] for theirs_name, ours_name in SAME_FUNCTION.items()}
        )
    # the inchikey lambda re-canonicalises to find its InChI: charge only the key step
    costs["inchikey"] = max(costs["inchikey"] - costs["canonical_smiles"], 0.0)
    return costs


def alternating(
    arms: dict[str, Callable[[list[Chem.Mol]], Any]], smiles: list[str], repeats: int
) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU-s of this process) per arm; arm order rotates each round."""
    names = list(arms)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            mols = fresh_mols(smiles)
            wall, cpu = time.perf_counter(), time.process_time()
            arms[name](mols)
            runs[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return {
        name: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r))
        for name, r in runs.items()
    }


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
    costs = raw_costs(smiles[:300])
    ours_cost = sum(v for k, v in costs.items() if not k.startswith("datamol:"))
    props_cost = ours_cost - costs["pains"] - costs["brenk"]
    datamol_cost = sum(v for k, v in costs.items() if k.startswith("datamol:"))
    print(
        "raw-RDKit cost per molecule (CPU ms, 300 molecules, one function per value): "
        f"profile_many's values {ours_cost * 1e3:.2f}, compute_many_properties' "
        f"{props_cost * 1e3:.2f}, datamol's 22 {datamol_cost * 1e3:.2f}; dearest: "
        + ", ".join(
            f"{k} {v * 1e3:.2f}" for k, v in sorted(costs.items(), key=lambda kv: -kv[1])[:6]
        )
    )
    work = {"datamol": datamol_cost, "profile_many": ours_cost, "compute_many": props_cost}
    for n_jobs in (1, 2):
        arms: dict[str, Callable[[list[Chem.Mol]], Any]] = {
            # batch_size="auto": datamol's default None is rejected by joblib >= 1.5
            "datamol": partial(
                dm.descriptors.batch_compute_many_descriptors, n_jobs=n_jobs, batch_size="auto"
            ),
            "profile_many": partial(bm.profile_many, n_jobs=n_jobs),
            "compute_many": partial(bm.compute_many_properties, n_jobs=n_jobs),
        }
        for arm in arms.values():  # warm every arm, datamol's loky workers included
            arm(fresh_mols(smiles[: max(50, n // 20)]))
        load = os.getloadavg()[0]
        result = alternating(arms, smiles, repeats)
        load = max(load, os.getloadavg()[0])
        clock = 1 if n_jobs == 1 else 0  # in-process CPU-s, or wall when workers do the work
        base = result["datamol"][clock]
        print(f"\nn_jobs={n_jobs}, {n} molecules, median of {repeats} alternating rounds, "
              f"load average up to {load:.1f}")  # fmt: skip
        print("| arm | wall s | CPU-s (this process) | mol/s | vs datamol mol/s | "
              "vs datamol per descriptor, by cost |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for name, (wall, cpu) in result.items():
            spent = (wall, cpu)[clock]
            by_cost = (work[name] / spent) / (work["datamol"] / base)
            print(f"| {name} | {wall:.2f} | {cpu:.2f} | {n / wall:.0f} | "
                  f"{base / spent:.2f}x | {by_cost:.2f}x |")  # fmt: skip
    print("(ratios: CPU-s at n_jobs=1; wall at n_jobs=2, where worker processes do the work)")


def bench_similarity(smiles: list[str], repeats: int) -> None:
    """``molecule_similarity`` (the tool) over every molecule vs raw RDKit, same top-10."""
    import numpy as np
    from rdkit import DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    from biomed_agent.molecules.similarity import clear_fingerprint_cache
    from biomed_agent.tools.molecule_tools import molecule_similarity

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    query, candidates = smiles[0], smiles[1:]

    def raw() -> list[int]:
        fps = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in candidates]
        scores = np.asarray(DataStructs.BulkTanimotoSimilarity(
            generator.GetFingerprint(Chem.MolFromSmiles(query)), fps))  # fmt: skip
        return [int(i) for i in np.argsort(-scores, kind="stable")[:10]]

    def cold() -> list[int]:
        clear_fingerprint_cache()
        return [h["index"] for h in molecule_similarity(query, candidates, 10)["hits"]]

    def warm() -> list[int]:
        return [h["index"] for h in molecule_similarity(query, candidates, 10)["hits"]]

    fps = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in candidates]
    query_fp = generator.GetFingerprint(Chem.MolFromSmiles(query))

    def raw_scoring() -> list[int]:
        scores = np.asarray(DataStructs.BulkTanimotoSimilarity(query_fp, fps))
        return [int(i) for i in np.argsort(-scores, kind="stable")[:10]]

    def ours_scoring() -> list[int]:
        return [i for i, _ in bm.tanimoto_top_k(query_fp, fps, k=10)]

    groups = {
        "fingerprinting included": {
            "raw RDKit: parse + Morgan + BulkTanimoto + argsort (baseline)": raw,
            "molecule_similarity, cold (fingerprint cache cleared)": cold,
            "molecule_similarity, same candidate list again (cached)": warm,
        },
        "precomputed fingerprints": {
            "raw BulkTanimoto + stable argsort (baseline)": raw_scoring,
            "tanimoto_top_k (argpartition)": ours_scoring,
        },
    }
    with bm.quiet_rdkit():
        for title, arms in groups.items():
            results = [arm() for arm in arms.values()]  # warm-up, and the same answer
            assert all(r == results[0] for r in results), results
            rounds = repeats if title.startswith("finger") else repeats * 20
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in arms}
            names = list(arms)
            load = os.getloadavg()[0]
            for repeat in range(rounds):
                for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
                    wall, cpu = time.perf_counter(), time.process_time()
                    arms[name]()
                    times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
            load = max(load, os.getloadavg()[0])
            print(f"\ntop-10 of {len(candidates)} candidates, {title}: median of {rounds} "
                  f"alternating rounds, load average up to {load:.1f}")  # fmt: skip
            print("| arm | wall ms | CPU ms | vs baseline (CPU) |\n|---|---|---|---|")
            base = statistics.median(c for _, c in times[names[0]])
            for name in names:
                wall = statistics.median(w for w, _ in times[name])
                cpu = statistics.median(c for _, c in times[name])
                print(f"| {name} | {wall * 1e3:.1f} | {cpu * 1e3:.1f} | {cpu / base:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2_000, help="molecules (full run: 10000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per task (median)")
    parser.add_argument(
        "--similarity-n", type=int, help="molecules for the similarity part (default: --n)"
    )
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
    if args.similarity_n and args.similarity_n != len(smiles):
        smiles, _ = load_smiles(args.similarity_n)
    bench_similarity(smiles, args.repeats)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
