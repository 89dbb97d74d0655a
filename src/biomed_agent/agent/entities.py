"""Deterministic entity extraction: what a question is about, before any model sees it.

Every extractor is conservative: a false entity costs a wasted (and cited) tool
call, a missed one only a plan with less in it. SMILES are accepted only when
RDKit sanitises them; UniProt accessions use UniProt's official pattern; gene
symbols must be approved HGNC symbols (:mod:`~biomed_agent.agent.lexicon`) and not a
common acronym; drug names come from the offline drug dictionary (typos included) and
are resolved through PubChem or the store by the caller (:func:`drug_name_candidates`).
"""

from __future__ import annotations

import re
from typing import Any, cast

from biomed_agent.agent.lexicon import find_drug_names, gene_symbols, has_drug_stem
from biomed_agent.agent.state import CompoundEntity, Entities, Turn, empty_entities
from biomed_agent.errors import InvalidMoleculeError
from biomed_agent.patterns import (
    INCHIKEY,
    INCHIKEY_IN_TEXT,
    SMILES_CHARACTERS,
    STANDARD_AMINO_ACIDS,
    UNIPROT_ACCESSION_IN_TEXT,
    looks_like_smiles,
)

__all__ = [
    "carry_over",
    "drug_mentions",
    "drug_name_candidates",
    "extract_entities",
    "invalid_smiles",
    "is_follow_up",
    "literature_intent",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PMID = re.compile(r"\bPMID\s*:?\s*(\d{1,9})\b", re.IGNORECASE)
_SEQUENCE = re.compile(rf"(?<![A-Za-z])([{STANDARD_AMINO_ACIDS}]{{20,}})(?![A-Za-z])")
_FASTA = re.compile(r"^>[^\n]*\n((?:[A-Za-z*\s])+)", re.MULTILINE)
_MUTATION = re.compile(
    rf"(?<![A-Za-z0-9])([{STANDARD_AMINO_ACIDS}]\d{{1,5}}[{STANDARD_AMINO_ACIDS}])(?![A-Za-z0-9])"
)
_GENE = re.compile(r"^[A-Z][A-Z0-9]{1,9}(?:-\d{1,2})?$")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]")
_EDGE_PUNCTUATION = "'\"“”‘’`,;:?!"

# all-caps tokens that look like gene symbols but are not
_NOT_GENES = _words(
    """
    AND ARE BUT CAN DID DOES FOR HAS HOW ITS NOT THE WAS WHAT WHEN WHERE WHICH WHO WHY
    ALL ANY YES OUT USE DNA RNA MRNA CDNA SIRNA ATP ADP AMP GTP NADH NADPH PCR NMR MRI
    CT PET ECG EEG FDA EMA WHO NIH NCBI NLM EBI USA UK EU HIV AIDS COVID SARS MERS HPV
    HBV HCV PMID PMCID DOI CID SID SMILES SMARTS INCHI INCHIKEY IUPAC CAS UNIPROT PDB
    GO MESH KEGG ADME ADMET PK PD QSAR QED SAR LOGP CLOGP TPSA PSA HBD HBA MW IC50 EC50
    KI KD LD50 AUC BMI LDL HDL ICU RCT RCTS OTC API GMP SOP PAINS FASTA JSON CSV PDF
    LLM AI ML GPT
    """
)

# words that are never drug names, so they are not sent to PubChem
_NOT_DRUGS = _words(
    """
    a about above according activity affect affects after again against all also am
    among an and any are as at be been before being below between both but by can could
    data did do does doing done during each either else even ever every few for from
    further had has have having he her here hers him his how however i if in into is it
    its itself just know known like made make many may me might more most much must my
    near need no nor not now of off often on once one only or other our out over own
    per please rather same say says she should show shows since so some such than that
    the their them then there these they this those through thus to too under until up
    upon us use used uses using very via was we well were what when where whether which
    while who whom whose why will with within without would yes yet you your tell give
    list find explain describe compare summarise summarize predict compute calculate
    check look lookup search show according answer question questions drug drugs
    compound compounds molecule molecules substance chemical chemicals medicine
    medication agent agents ligand ligands inhibitor inhibitors agonist agonists
    antagonist antagonists target targets protein proteins enzyme enzymes receptor
    receptors gene genes kinase kinases channel channels transporter transporters
    antibody antibodies sequence sequences structure structures variant variants
    mutation mutations residue residues function functions role roles mechanism
    mechanisms action pathway pathways expression literature paper papers study studies
    article articles review reviews evidence trial trials publication publications
    abstract abstracts pubmed uniprot pubchem record records property properties
    drug-like druglike drug-likeness druglikeness lipinski veber rule rules alert
    alerts toxicity toxic safety safe effect effects side dose doses dosing weight mass
    solubility permeability bioavailability oral absorption metabolism similar
    similarity substructure scaffold analog analogs analogue analogues human humans
    mouse mice rat rats cell cells patient patients disease diseases cancer tumour
    tumor risk treatment therapy therapies clinical preclinical approved approval good
    bad high low better worse best worst new old recent latest current main major first
    second third last next known unknown likely unlikely important relevant related
    work works working bind binds binding block blocks blocking inhibit inhibits
    activate activates cause causes caused prevent prevents reduce reduces increase
    increases location located localisation localization cellular membrane nucleus
    cytoplasm organism species family domain domains site sites region regions inchi
    inchikey smiles smarts fasta identifier identifiers accession name names
    """
)

# a word right before one of these names a protein ("adenosine receptor"), not a compound
_PROTEIN_HEADS = _words(
    """
    receptor receptors kinase kinases channel channels transporter transporters gene
    genes protein proteins synthase synthetase enzyme oxidase reductase dehydrogenase
    transferase hydrolase ligase isomerase protease peptidase phosphatase cyclase
    deaminase
    """
)

_LITERATURE_WORDS = re.compile(
    r"\b(literature|papers?|publications?|published|studies|study|articles?|pubmed|"
    r"trials?|evidence|reports?|reviews?|abstracts?|research)\b",
    re.IGNORECASE,
)
_ANAPHORA = re.compile(
    r"\b(it|its|it's|this|that|these|those|they|them|their|the (?:same )?"
    r"(?:drug|compound|molecule|protein|target|gene|enzyme|receptor|article|paper))\b",
    re.IGNORECASE,
)
_PROTEIN_REFERENCE = re.compile(
    r"\b(target|targets|protein|proteins|receptor|enzyme|gene|kinase)\b", re.IGNORECASE
)
_COMPOUND_REFERENCE = re.compile(
    r"\b(drug|drugs|compound|compounds|molecule|molecules|ligand|inhibitor)\b", re.IGNORECASE
)


def _strip_token(token: str) -> str:
    """Remove sentence punctuation and unbalanced brackets around a token."""
    token = token.strip(_EDGE_PUNCTUATION)
    if token.endswith(".") and not token.endswith(".."):
        token = token[:-1]
    for opening, closing in (("(", ")"), ("[", "]")):
        while token.startswith(opening) and token.count(opening) > token.count(closing):
            token = token[1:]
        while token.endswith(closing) and token.count(closing) > token.count(opening):
            token = token[:-1]
        if token.startswith(opening) and _closes_at_end(token, opening, closing):
            token = token[1:-1]
    return token.strip(_EDGE_PUNCTUATION)


def _closes_at_end(token: str, opening: str, closing: str) -> bool:
    """True when the first bracket of ``token`` is closed by its last character."""
    depth = 0
    for index, char in enumerate(token):
        depth += (char == opening) - (char == closing)
        if depth == 0:
            return index == len(token) - 1
    return False


def _canonical_smiles(token: str) -> str | None:
    """Canonical SMILES when RDKit sanitises ``token``, else None."""
    from rdkit import Chem

    from biomed_agent.molecules.parsing import to_mol

    try:
        mol = to_mol(token, input_format="smiles")
    except InvalidMoleculeError:
        return None
    return str(Chem.MolToSmiles(mol))


def _smiles_shaped(token: str) -> bool:
    """Worth an RDKit parse: the shared SMILES heuristic (plain atoms from 3 characters,
    so "NO" and "CO" stay words), widened to any SMILES-character token with a digit
    ("c1ccccc1-c1ccccc1", written bonds) because RDKit decides those anyway."""
    if len(token) < 2:
        return False
    if looks_like_smiles(token, min_plain_length=3):
        return True
    return any(c.isdigit() for c in token) and bool(SMILES_CHARACTERS.fullmatch(token))


def _sequences(question: str) -> list[str]:
    found = ["".join(block.split()).upper().rstrip("*") for block in _FASTA.findall(question)]
    found += [
        match
        for match in _SEQUENCE.findall(question)
        if len(set(match)) >= 5 and not any(match in seq for seq in found)
    ]
    return _unique(found)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def extract_entities(question: str) -> Entities:
    """Every entity of ``question`` that the deterministic rules can recognise."""
    entities = empty_entities()
    entities["sequences"] = _sequences(question)
    without_fasta = _FASTA.sub(" ", question)
    entities["inchikeys"] = _unique(INCHIKEY_IN_TEXT.findall(without_fasta))
    entities["pmids"] = _unique(_PMID.findall(without_fasta))
    if entities["sequences"]:
        entities["mutations"] = _unique(_MUTATION.findall(without_fasta))

    accessions: list[str] = []
    smiles: list[str] = []
    genes: list[str] = []
    taken = set(entities["inchikeys"]) | set(entities["sequences"]) | set(entities["mutations"])
    for raw in without_fasta.split():
        token = _strip_token(raw)
        if not token or token in taken or token.upper().startswith("PMID"):
            continue
        accession = UNIPROT_ACCESSION_IN_TEXT.fullmatch(token)  # upper case only, as written
        if accession is not None:
            accessions.append(accession.group(1))  # P30542-2 -> P30542
            continue
        if _smiles_shaped(token):
            canonical = _canonical_smiles(token)
            if canonical is not None:
                smiles.append(token)
                continue
        if (
            _GENE.match(token)
            and sum(c.isalpha() for c in token) >= 2
            and len(token) >= 3
            and token not in _NOT_GENES
            and token in gene_symbols()  # an approved HGNC symbol, not just its shape
        ):
            genes.append(token)
    entities["accessions"] = _unique(accessions)
    entities["smiles"] = _unique(smiles)
    entities["genes"] = _unique(genes)
    entities["compounds"] = [
        CompoundEntity(name=None, smiles=s, cid=None, url=None) for s in entities["smiles"]
    ]
    return entities


def drug_name_candidates(question: str, limit: int = 3) -> list[str]:
    """Names to resolve through PubChem, best first: dictionary drug names (a typo is
    replaced by the name it misspells), then unknown words with a drug-class stem.

    Common and domain words and words heading a protein name ("adenosine receptor")
    are never candidates, so they cost no lookup.
    """
    return [name for name, _ in drug_mentions(question)][:limit]


def drug_mentions(question: str) -> list[tuple[str, str | None]]:
    """(name to look up, the word as written when it was a typo) for each drug mention."""
    text = _FASTA.sub(" ", question)
    words = [m.group(0) for m in _WORD.finditer(text)]
    heads = {  # "adenosine receptor", "adenosine A1 receptor": a protein name, not a compound
        words[i].lower()
        for i in range(len(words) - 1)
        if words[i + 1].lower() in _PROTEIN_HEADS
        or (
            i + 2 < len(words)
            and re.fullmatch(r"[A-Z0-9][A-Za-z0-9-]{0,4}", words[i + 1]) is not None
            and words[i + 2].lower() in _PROTEIN_HEADS
        )
    }
    mentions: list[tuple[str, str | None]] = []
    for match in find_drug_names(text, skip=_NOT_DRUGS | heads):
        mentions.append((match.variant, match.written if match.fuzzy else None))
    known = {m.lower() for m, _ in mentions} | {w.lower() for _, w in mentions if w}
    for word in words:
        if has_drug_stem(word) and word.lower() not in known | _NOT_DRUGS:
            mentions.append((word.lower(), None))
            known.add(word.lower())
    return mentions


def invalid_smiles(question: str) -> list[str]:
    """Tokens written like SMILES (ring digits, bonds, brackets) that RDKit rejects."""
    bad = []
    for raw in _FASTA.sub(" ", question).split():
        token = _strip_token(raw)
        if (
            len(token) >= 4
            and SMILES_CHARACTERS.fullmatch(token)
            and re.search(r"[=#()\[\]]|\d", token)
            and re.search(r"[a-z]|[A-Z]{2}|\(", token)  # not an accession/mutation/number
            and not UNIPROT_ACCESSION_IN_TEXT.fullmatch(token)
            and not INCHIKEY.fullmatch(token)
            and not re.fullmatch(r"[A-Za-z]+-\d+|\d[\d.,-]*|[A-Za-z]+\d+[A-Za-z]?", token)
            and _canonical_smiles(token) is None
        ):
            bad.append(token)
    return _unique(bad)


def literature_intent(question: str) -> bool:
    """True when the question asks what papers, studies or trials say."""
    return bool(_LITERATURE_WORDS.search(question))


def is_follow_up(question: str, entities: Entities) -> bool:
    """True when the question refers back ("its target", "that drug") and names nothing new."""
    named = any(
        entities[kind]
        for kind in (
            "smiles",
            "inchikeys",
            "accessions",
            "genes",
            "pmids",
            "sequences",
            "compounds",
        )
    )
    return not named and bool(_ANAPHORA.search(question))


def carry_over(question: str, entities: Entities, history: list[Turn]) -> Entities:
    """Fill a follow-up's entities from the latest earlier turn that named some.

    "its target"/"the protein" takes the earlier proteins (accessions, genes,
    sequences); "it"/"the drug" the earlier compounds; a plain "it" both.
    """
    if not history or not is_follow_up(question, entities):
        return entities
    wants_protein = bool(_PROTEIN_REFERENCE.search(question))
    wants_compound = bool(_COMPOUND_REFERENCE.search(question))
    if not wants_protein and not wants_compound:
        wants_protein = wants_compound = True
    kinds = []
    if wants_protein:
        kinds += ["accessions", "genes", "sequences"]
    if wants_compound:
        kinds += ["compounds", "smiles", "inchikeys"]
    kinds.append("pmids")
    for turn in reversed(history):
        earlier: dict[str, Any] = dict(turn["entities"])
        carried = [kind for kind in kinds if earlier[kind]]
        if carried:
            merged: dict[str, Any] = dict(entities)
            for kind in carried:
                merged[kind] = list(earlier[kind])
            merged["carried_over"] = carried
            return cast(Entities, merged)
    return entities
