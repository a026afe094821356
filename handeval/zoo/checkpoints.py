"""Loading a user's checkpoint into a zoo network strictly, without ever unpickling it
(``data_specs/zoo_checkpoints.md``).

A ``.safetensors`` file is read with ``safetensors.torch.load_file``; any other file with
``torch.load(map_location="cpu", weights_only=True)``, whose unpickler creates tensors and plain
containers only and refuses every other class, so no code in the file runs. A file it refuses (a
pickled config object, a Lightning ``.ckpt``, a plain pickle) is converted once by the user, in their
own trusted environment, with the command :func:`conversion_command` gives. The state_dict found
(``key``) is renamed by explicit regex pairs (``renames``) and loaded with ``strict=True``; one error
lists every missing, unexpected and misshapen entry.
"""

from __future__ import annotations

import pickle
import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from handeval.util.atomic import atomic_path
from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError

#: Entries of each kind a mismatch message names before it gives only the count.
_SHOWN = 5
#: The suffix of the files handeval reads with safetensors; everything else goes to torch.load.
SAFETENSORS_SUFFIX = ".safetensors"


@dataclass(frozen=True)
class CheckpointInfo:
    """What was loaded: the file, its sha256, how it was read ("safetensors" or "torch"), how many keys
    ``renames`` changed, and where the state_dict sat (``key``)."""

    path: str
    sha256: str
    format: str
    renamed: int
    key: str | None

    def to_dict(self) -> dict:
        return asdict(self)


def conversion_command(src: str | Path, key: str | None = None, dst: str | Path | None = None) -> str:
    """The shell command that converts ``src`` to safetensors in the user's own environment, where they
    trust the file: it unpickles it (``weights_only=False``) and saves the state_dict's tensors."""
    dst = Path(src).with_suffix(SAFETENSORS_SUFFIX) if dst is None else dst
    found = f"ckpt[{key!r}]" if key is not None else \
        "(ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt.state_dict())"
    return ('python -c "import torch, safetensors.torch as st\n'
            f"ckpt = torch.load({str(src)!r}, map_location='cpu', weights_only=False)\n"
            f"st.save_file({{k: v.detach().clone().contiguous() for k, v in {found}.items() "
            f'if isinstance(v, torch.Tensor)}}, {str(dst)!r})"')


def _refusal(path: Path, key: str | None, reason: str) -> HandevalError:
    return HandevalError(
        f"{path}: torch.load(weights_only=True) refuses it ({reason}): it holds Python objects (a pickled config, "
        "a Lightning .ckpt, a plain pickle) or is not a PyTorch checkpoint at all, and handeval never unpickles "
        "a file, since unpickling runs whatever code the file names. If you trust the file, convert it once in "
        "your own environment:\n" + conversion_command(path, key)
        + "\nthen pass the .safetensors file (with no key: the command saves the state_dict itself)")


def _read(path: Path, key: str | None):
    """The file's content: a flat {name: tensor} (safetensors) or what torch.load gives; and its format."""
    if path.suffix == SAFETENSORS_SUFFIX:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu"), "safetensors"
        except (SafetensorError, OSError) as exc:
            raise HandevalError(f"{path}: not a readable safetensors file ({exc}); convert the original "
                                "checkpoint again (data_specs/zoo_checkpoints.md)") from None
    import torch

    try:
        with warnings.catch_warnings():
            # torch warns about a plain pickle's protocol just before refusing it; the refusal says more.
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True), "torch"
    except pickle.UnpicklingError as exc:
        reason = re.search(r"Unsupported (global: GLOBAL [\w.]+|operand \d+)", str(exc))
        raise _refusal(path, key, reason.group(0) if reason else "WeightsUnpickler error") from None
    except (RuntimeError, EOFError, OSError) as exc:
        first = (str(exc).splitlines() or ["an empty file"])[0]
        raise HandevalError(f"{path}: not a readable PyTorch checkpoint ({first}); check that the download is "
                            "complete") from None


def _state_dict(obj, path: Path, key: str | None) -> dict:
    """The {name: tensor} at ``key``: an entry of a nested dict, or the ``key.``-prefixed part of a flat one."""
    import torch

    if not isinstance(obj, dict):
        raise HandevalError(f"{path}: holds a {type(obj).__name__}, not a dict of tensors; save model.state_dict(), "
                            "not the model")
    if key is not None:
        if key in obj:
            obj = obj[key]
        else:
            prefix = key + "."
            flat = {k[len(prefix):]: v for k, v in obj.items() if isinstance(k, str) and k.startswith(prefix)}
            if not flat:
                top = sorted({str(k).split(".")[0] for k in obj})
                raise HandevalError(f"{path}: no entry {key!r}; its top-level keys are "
                                    f"{', '.join(map(repr, top[:20]))}" + (f" and {len(top) - 20} more" if len(top) > 20
                                                                           else "")
                                    + "; give the key that holds the state_dict (or none when it is the whole file)")
            obj = flat
    if not isinstance(obj, dict):
        raise HandevalError(f"{path}: entry {key!r} holds a {type(obj).__name__}, not a state_dict")
    odd = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if odd:
        holders = [k for k, v in obj.items() if isinstance(v, dict) and v
                   and all(isinstance(t, torch.Tensor) for t in v.values())]
        hint = f"; the state_dict is likely under key {holders[0]!r}" if holders else ""
        raise HandevalError(f"{path}: {'entry ' + repr(key) if key else 'the file'} is not a state_dict: "
                            f"{len(odd)} entries are not tensors ({', '.join(map(repr, odd[:_SHOWN]))}){hint}")
    return obj


def _renamed(sd: dict, renames: tuple[tuple[str, str], ...], path: Path) -> tuple[dict, int]:
    out, count = {}, 0
    for name, tensor in sd.items():
        new = name
        for pattern, replacement in renames:
            new = re.sub(pattern, replacement, new)
        count += new != name
        if new in out:
            raise HandevalError(f"{path}: renames map two entries to {new!r}; fix the rename table")
        out[new] = tensor
    return out, count


def _listed(names: list[str]) -> str:
    return ", ".join(names[:_SHOWN]) + (f" (+{len(names) - _SHOWN} more)" if len(names) > _SHOWN else "")


def load_checkpoint(path: str | Path, model, key: str | None = None, renames: tuple[tuple[str, str], ...] = (),
                    expect_sha256: str | None = None, expected_by: str | None = None) -> CheckpointInfo:
    """Load ``path`` into ``model`` (a ``torch.nn.Module``) with ``strict=True``.

    ``key``: where the state_dict sits (e.g. "network"), None for the whole file. ``renames``: regex
    ``(pattern, replacement)`` pairs applied in order to every name, e.g. ``(r"^module\\.", "")``.
    ``expect_sha256``: the file's known sha256 (checked before it is read). ``expected_by``: the entry or
    adapter named in a mismatch message (default: the model's class).
    """
    path = Path(path)
    if not path.is_file():
        raise HandevalError(f"checkpoint {path} does not exist")
    sha = sha256_file(path)
    if expect_sha256 is not None and sha != expect_sha256.lower():
        raise HandevalError(f"{path}: sha256 {sha} is not the expected {expect_sha256} (another release, a "
                            "truncated download, or a converted file); check the file, or the expected checksum")
    obj, fmt = _read(path, key)
    sd, renamed = _renamed(_state_dict(obj, path, key), renames, path)
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    shapes = [f"{k} {tuple(sd[k].shape)} (expected {tuple(v.shape)})" for k, v in expected.items()
              if k in sd and tuple(sd[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        who = expected_by or f"{type(model).__module__}.{type(model).__qualname__}"
        said = [f"{len(names)} {what}: {_listed(names)}" for what, names in
                (("missing", missing), ("unexpected", unexpected), ("of another shape", shapes)) if names]
        raise HandevalError(f"{path}: the state_dict{f' at {key!r}' if key else ''} does not match what {who} "
                            f"expects ({len(expected)} entries); {'; '.join(said)}. Check the file is the one the "
                            f"entry names, its key, and the renames (applied: {list(renames) or 'none'}, "
                            f"{renamed} names changed)")
    model.load_state_dict(sd, strict=True)
    return CheckpointInfo(str(path), sha, fmt, renamed, key)


def convert_to_safetensors(src: str | Path, dst: str | Path, key: str | None = None,
                           renames: tuple[tuple[str, str], ...] = ()) -> CheckpointInfo:
    """Write the state_dict of ``src`` (a file ``torch.load(weights_only=True)`` accepts, or a safetensors
    file) at ``key``, renamed, to the safetensors file ``dst``, atomically; the source's name, sha256, key
    and renames go in its metadata. Returns ``dst``'s info (``key`` None: the file is the state_dict)."""
    from safetensors.torch import save_file

    src = Path(src)
    if not src.is_file():
        raise HandevalError(f"checkpoint {src} does not exist")
    obj, fmt = _read(src, key)
    sd, renamed = _renamed(_state_dict(obj, src, key), renames, src)
    # Tied weights share storage, which safetensors refuses: each tensor is saved as its own copy.
    tensors = {k: v.detach().clone().contiguous() for k, v in sd.items()}
    metadata = {"handeval.source": src.name, "handeval.source_sha256": sha256_file(src),
                "handeval.source_format": fmt, "handeval.key": key or "", "handeval.renames": repr(list(renames))}
    dst = Path(dst)
    with atomic_path(dst, suffix=SAFETENSORS_SUFFIX) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return CheckpointInfo(str(dst), sha256_file(dst), "safetensors", renamed, None)
