"""Where a model named by the user comes from: a local folder or file, or a Hugging Face Hub id (the local cache
first; offline, the cache only). Each check fails in one line that names the source and how to supply it."""

import os
import re


# `owner/name`, or a legacy un-namespaced name (`bert-base-uncased`): what the Hub accepts as a model id.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def looks_like_hub_id(source: str, namespaced: bool = True) -> bool:
    """Whether `source` can be a Hub model id (`owner/name`; with `namespaced=False` also a bare name)."""
    source = str(source)
    if not _HUB_ID.match(source) or source.endswith((".", "-")) or ".." in source:
        return False
    return "/" in source or not namespaced


def hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def in_hub_cache(repo_id: str, filename: str = "config.json") -> bool:
    """Whether `filename` of model `repo_id` (its `main` revision) is in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, filename), str)


def fetch_hint(repo_id: str) -> str:
    return f"fetch it once with `hf download {repo_id}`, or run once with network access (HF_HUB_OFFLINE unset)"


def resolve_checkpoint(model: str) -> str:
    """`model` as `from_pretrained` should get it: an existing checkpoint folder (it must hold `config.json`), or a
    Hub id `owner/name`, which offline must already be in the local cache. Anything else is a `FileNotFoundError`
    naming it."""
    model = os.fspath(model)
    if os.path.isdir(model):
        if not os.path.isfile(os.path.join(model, "config.json")):
            raise FileNotFoundError(f"{model!r} is not a checkpoint folder: it has no config.json.")
        return model
    if not looks_like_hub_id(model):
        raise FileNotFoundError(f"Model folder not found: {model!r} (nor is it a Hub id of the form owner/name).")
    if hub_offline() and not in_hub_cache(model):
        raise FileNotFoundError(
            f"{model!r} is not a local folder, and as a Hub id it is not in the local Hugging Face cache while "
            f"offline (HF_HUB_OFFLINE=1): {fetch_hint(model)}."
        )
    return model


def hub_load_error(model: str, error: Exception) -> OSError:
    """A one-line `OSError` for a Hub id that failed to load (not found, no network, ...)."""
    first_line = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    return OSError(f"Could not load {model!r} from the Hugging Face Hub: {first_line}")


__all__ = ["fetch_hint", "hub_load_error", "hub_offline", "in_hub_cache", "looks_like_hub_id", "resolve_checkpoint"]
