"""
Synthetic emotion dialogues, composed from a grammar rather than picked from a list of sentences.

A dialogue has 1-6 turns between a focal speaker, who carries the emotion, and another speaker. The focal speaker
expresses it through explicit words at graded intensity ("a bit annoyed" ... "livid"), and implicitly through a
situation ("my manager moved my deadline up by a week", "I found a clump of hair in the office fridge"), bodily
reactions ("my jaw is clenched"), appraisals ("Who does that?") and action tendencies ("I'm writing a very
strongly worded email"), with hedges and neutral filler turns. The other speaker opens, asks, reacts or closes.
Registers (casual, work, family, online) change the situations, the openers and the surface style. With a small
probability one cue comes from a neighbouring emotion (anger and disgust, fear and surprise, ...): real text is
ambiguous too.

Templates and vocabulary are kept apart. Every template (sentence frame, situation, appraisal, other-speaker line,
LLM prompt) has an id and belongs to exactly one of train/validation/test (`TemplateBank`): inside each group
(kind, emotion, register) the templates are ranked by a hash of their id and the first 70% go to train, the next
15% to validation and the rest to test, so every emotion has templates in every split, test dialogues never reuse
a training template, and the assignment does not depend on the seed. The emotion vocabulary (explicit words,
interjections, bodily-reaction and action phrases, the per-emotion situation fillers of
`lexicon.SITUATION_SLOTS`) is shared by all splits, the way real speakers share words: a model trained
on the train split meets familiar emotional language in unseen sentences and situations, which is what lets it
transfer to held-out templates and to real utterances.

Generation is seeded and deterministic: a dialogue depends only on `(seed, split, label, key)`, so a dataset can
ask for the dialogue of its k-th face without generating the others.

`text` is the turns joined with a newline (`TURN_SEPARATOR`); the `turns` list is kept as well, for processors
that take a list of turns.

The corpus backend (`corpus.py`) puts real utterances of a labelled corpus the user supplies (its train split for
our train split only) in the focal turn, with the corpus's own short neutral utterances around it; emotions the
corpus lacks fall back to the grammar. The language-model backend (`llm.py`) has a local causal LM write the turns.

Command line (see `python -m dataset_builder dialogues --help`):

    python -m dataset_builder dialogues --per-label 100 --seed 0 --split train --out train.csv
    python -m dataset_builder dialogues --backend corpus --corpus corpus.csv --label-map map.json \
        --corpus-licence CC-BY-4.0 --per-label 100 --split train --out train.csv
"""

from .cli import add_dialogue_arguments, run_dialogues
from .corpus import (
    CorpusComposer,
    CorpusSource,
    CorpusUtterance,
    LabelledCorpus,
    add_corpus_arguments,
    corpus_source_from_args,
    load_corpus,
    read_label_map,
)
from .csv_io import CSV_COLUMNS, read_dialogues_csv, write_dialogues_csv
from .dialogue import SPLITS, TURN_SEPARATOR, Dialogue
from .diversity import DiversityMeter, diversity_report
from .generator import BACKENDS, DialogueGenerator, generate_dialogues
from .grammar import INTENSITIES, GrammarComposer
from .llm import LanguageModelBackend, split_generated_turns
from .templates import Template, TemplateBank, template_bank


__all__ = [
    "BACKENDS",
    "CSV_COLUMNS",
    "INTENSITIES",
    "SPLITS",
    "TURN_SEPARATOR",
    "CorpusComposer",
    "CorpusSource",
    "CorpusUtterance",
    "Dialogue",
    "DialogueGenerator",
    "DiversityMeter",
    "GrammarComposer",
    "LabelledCorpus",
    "LanguageModelBackend",
    "Template",
    "TemplateBank",
    "add_corpus_arguments",
    "add_dialogue_arguments",
    "corpus_source_from_args",
    "diversity_report",
    "generate_dialogues",
    "load_corpus",
    "read_dialogues_csv",
    "read_label_map",
    "run_dialogues",
    "split_generated_turns",
    "template_bank",
    "write_dialogues_csv",
]
