"""Publishing a checkpoint folder on the Hugging Face Hub, exactly as it loads as remote code."""

import os
import sys
from pathlib import Path

from .card import write_model_card
from .checkpoint import missing_checkpoint_files
from .model_source import looks_like_hub_id


class PushError(RuntimeError):
    """Why a push cannot happen, in one line: offline, no network, no token, a refused token, no write access."""


_OTHER_REPO_TYPES = {"datasets": "dataset", "spaces": "Space"}


def check_repo_id(repo_id: str) -> None:
    """`repo_id` must name a model repository: `namespace/name`, or a bare name (in the token owner's namespace)."""
    prefix = repo_id.split("/", 1)[0]
    if prefix in _OTHER_REPO_TYPES and repo_id.count("/") == 2:
        raise ValueError(f"--repo-id {repo_id!r} names a {_OTHER_REPO_TYPES[prefix]} repository; push uploads a model "
                         f"repository: use {repo_id.split('/', 1)[1]!r}.")
    if not looks_like_hub_id(repo_id, namespaced=False):
        raise ValueError(f"--repo-id {repo_id!r} is not a Hub repository id: expected namespace/name "
                         "(letters, digits, '-', '_', '.').")


def _network_error_types() -> tuple:
    """Connection failures of whichever HTTP client `huggingface_hub` uses (httpx2, httpx or requests, by version):
    the one it imported is in `sys.modules` already."""
    found = [ConnectionError, TimeoutError]
    for name, attribute in (("httpx2", "TransportError"), ("httpx", "TransportError"), ("requests", "ConnectionError")):
        module = sys.modules.get(name)
        if module is not None and isinstance(getattr(module, attribute, None), type):
            found.append(getattr(module, attribute))
    return tuple(found)


def check_push_access(api, repo_id: str) -> dict:
    """Before anything is uploaded: the Hub must be online and reachable, a token must be set and accepted, and
    (for a classic token) allow writing to `repo_id`'s namespace. Returns the `whoami` answer; raises `PushError`."""
    from huggingface_hub import constants, get_token
    from huggingface_hub.errors import HfHubHTTPError

    if constants.HF_HUB_OFFLINE:
        raise PushError(f"Cannot push {repo_id!r}: Hugging Face Hub offline mode is on (HF_HUB_OFFLINE=1). Unset it "
                        "to upload.")
    if not (api.token or get_token()):
        raise PushError(f"Cannot push {repo_id!r}: no Hugging Face token. Set HF_TOKEN or run `hf auth login` with a "
                        "token that has write access.")
    try:
        identity = api.whoami()
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        if status == 401:
            raise PushError(f"Cannot push {repo_id!r}: {api.endpoint} refused the token (401 Unauthorized); log in "
                            "again with `hf auth login` or set a valid HF_TOKEN.") from None
        raise PushError(f"Cannot push {repo_id!r}: {api.endpoint} answered {status} when checking the token.") from None
    except _network_error_types() as error:
        raise PushError(f"Cannot push {repo_id!r}: the Hub at {api.endpoint} cannot be reached "
                        f"({type(error).__name__}: {_first_line(error)}); check the network connection "
                        "(or HF_ENDPOINT).") from None
    access = identity.get("auth", {}).get("accessToken", {})
    user = identity.get("name", "?")
    if access.get("role") == "read":
        raise PushError(f"Cannot push {repo_id!r}: the token of {user!r} is read-only; create a token with write "
                        "access (https://huggingface.co/settings/tokens).")
    namespace = repo_id.split("/")[0] if "/" in repo_id else user
    organisations = [org.get("name") for org in identity.get("orgs", [])]
    if access.get("role") != "fineGrained" and namespace not in {user, *organisations}:
        raise PushError(f"Cannot push {repo_id!r}: logged in as {user!r}, who has no write access to the namespace "
                        f"{namespace!r} (your namespaces: {', '.join([user, *organisations])}).")
    return identity


def _first_line(error: Exception) -> str:
    return next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)


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
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    check_repo_id(repo_id)
    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        raise FileNotFoundError(f"Checkpoint folder not found: {os.fspath(checkpoint_dir)!r}")
    missing = missing_checkpoint_files(checkpoint_dir)
    if missing:
        raise FileNotFoundError(
            f"{os.fspath(checkpoint_dir)!r} is not a complete EmotiFusion checkpoint; missing: {', '.join(missing)}. "
            "Save it with `emotifusion_hf.checkpoint.save_checkpoint(model, processor, dir)`."
        )
    api = HfApi(token=token)
    identity = check_push_access(api, repo_id)  # before the card is re-rendered or anything is uploaded
    if "/" not in repo_id:
        repo_id = f"{identity['name']}/{repo_id}"
    write_model_card(checkpoint_dir, repo_id=repo_id)
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
    except RepositoryNotFoundError:
        raise PushError(f"Cannot push {repo_id!r}: the Hub has no model repository by that id you can write to (the "
                        "id may be taken by a dataset or Space, or belong to someone else).") from None
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        reason = "no write access to this repository" if status == 403 else _first_line(error)
        raise PushError(f"Cannot push {repo_id!r}: the Hub answered {status}: {reason}") from None
    except _network_error_types() as error:
        raise PushError(f"Cannot push {repo_id!r}: the connection to {api.endpoint} failed during the upload "
                        f"({type(error).__name__}: {_first_line(error)}).") from None


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
    if space_id is not None:
        check_repo_id(space_id)
    return space_id


__all__ = ["PushError", "check_push_access", "check_repo_id", "push_checkpoint", "run_push"]
