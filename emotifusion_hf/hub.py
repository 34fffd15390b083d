"""Publishing a checkpoint folder on the Hugging Face Hub, exactly as it loads as remote code."""

import os
from pathlib import Path

from .card import write_model_card
from .checkpoint import missing_checkpoint_files


def push_checkpoint(
    checkpoint_dir,
    repo_id: str,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
):
    """Upload a checkpoint folder, exactly as it loads as remote code, to `repo_id` on the Hub.

    The endpoint and token are resolved the usual `huggingface_hub` way (`HF_ENDPOINT`, `HF_TOKEN`, the cached
    login). The card is re-rendered with the repository id first, so its snippets name the right repository.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import OfflineModeIsEnabled

    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        raise FileNotFoundError(f"Checkpoint folder not found: {os.fspath(checkpoint_dir)!r}")
    missing = missing_checkpoint_files(checkpoint_dir)
    if missing:
        raise FileNotFoundError(
            f"{os.fspath(checkpoint_dir)!r} is not a complete EmotiFusion checkpoint; missing: {', '.join(missing)}. "
            "Save it with `emotifusion_hf.checkpoint.save_checkpoint(model, processor, dir)`."
        )
    write_model_card(checkpoint_dir, repo_id=repo_id)

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if revision is not None:
            api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
        return api.upload_folder(
            folder_path=checkpoint_dir,
            repo_id=repo_id,
            repo_type="model",
            revision=revision,
            commit_message=commit_message or "Upload EmotiFusion checkpoint",
            # Trainer working files stay local; pickled files (training_args.bin, optimizer states) never travel.
            ignore_patterns=["checkpoint-*", "checkpoint-*/*", "runs/*", "*.bin", "*.pt", "*.pth", "*.pkl"],
        )
    except OfflineModeIsEnabled as error:
        raise RuntimeError(
            f"Cannot push {repo_id!r}: Hugging Face Hub offline mode is on (HF_HUB_OFFLINE=1). Unset it to upload."
        ) from error


def run_push(args, space_examples=None) -> int:
    space_id = _space_id(args)
    commit = push_checkpoint(
        args.model, args.repo_id, private=args.private, revision=args.revision, commit_message=args.commit_message
    )
    print(f"pushed {args.model} to {commit.commit_url}")
    if space_id is not None:
        from .space import push_space

        commit = push_space(space_id, args.repo_id, examples=space_examples, private=args.private,
                            package=getattr(args, "space_package", None))
        print(f"pushed the demo Space to {commit.commit_url}")
    return 0


def _space_id(args) -> str | None:
    """`--space-id`, or with `--space` the model repository's name plus `-demo` in the same namespace."""
    space_id = getattr(args, "space_id", None)
    if space_id is None and getattr(args, "space", False):
        space_id = f"{args.repo_id}-demo"
    if space_id is not None and (space_id.count("/") != 1 or not all(space_id.split("/"))):
        raise ValueError(f"--space-id must be namespace/name, got {space_id!r}.")
    return space_id


__all__ = ["push_checkpoint", "run_push"]
