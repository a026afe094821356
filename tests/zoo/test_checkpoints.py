"""Checkpoints load strictly, by safetensors or torch.load(weights_only=True), and a file that holds
Python objects is refused without running any of its code (data_specs/zoo_checkpoints.md)."""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from handeval.util.checksums import sha256_file
from handeval.util.errors import HandevalError
from handeval.zoo.checkpoints import CheckpointInfo, conversion_command, convert_to_safetensors, load_checkpoint

RAN = []   # set by _Payload when unpickled: it must stay empty


def _mark(marker: str):
    """What unpickling a _Payload calls: leaves a file and a note behind."""
    RAN.append(marker)
    with open(marker, "w") as fh:
        fh.write("unpickled")
    return marker


class _Payload:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return _mark, (self.marker,)


class Net(nn.Module):
    def __init__(self, width: int = 4):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3)
        self.bn = nn.BatchNorm2d(width)
        self.head = nn.Linear(width, 2)


def _weights(seed: int = 0, width: int = 4) -> dict:
    torch.manual_seed(seed)
    return Net(width).state_dict()


def _same(model: nn.Module, sd: dict) -> bool:
    return all(torch.equal(model.state_dict()[k], v) for k, v in sd.items())


def test_safetensors_round_trip(tmp_path):
    sd = _weights(1)
    path = tmp_path / "net.safetensors"
    save_file(sd, str(path))
    model = Net()
    info = load_checkpoint(path, model, expect_sha256=sha256_file(path))
    assert info == CheckpointInfo(str(path), sha256_file(path), "safetensors", 0, None)
    assert _same(model, sd)


def test_torch_file_with_a_key_and_a_module_prefix(tmp_path):
    sd = _weights(2)
    path = tmp_path / "snapshot.pth.tar"
    torch.save({"epoch": 7, "network": {f"module.{k}": v for k, v in sd.items()}}, path)
    model = Net()
    info = load_checkpoint(path, model, key="network", renames=((r"^module\.", ""),))
    assert (info.format, info.renamed, info.key, info.sha256) == ("torch", len(sd), "network", sha256_file(path))
    assert _same(model, sd)


def test_missing_key_lists_the_top_level_keys(tmp_path):
    path = tmp_path / "ckpt.pth"
    torch.save({"epoch": 7, "network": _weights()}, path)
    with pytest.raises(HandevalError, match=r"no entry 'model'; its top-level keys are 'epoch', 'network'"):
        load_checkpoint(path, Net(), key="model")
    with pytest.raises(HandevalError, match=r"not a state_dict.*likely under key 'network'"):
        load_checkpoint(path, Net())


def test_strict_mismatch_is_one_error_naming_everything(tmp_path):
    sd = {f"module.{k}": v for k, v in _weights(width=6).items()}
    sd["module.extra.weight"] = torch.zeros(1)
    del sd["module.head.bias"]
    path = tmp_path / "bad.pth"
    torch.save(sd, path)
    model = Net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(HandevalError) as err:
        load_checkpoint(path, model, renames=((r"^module\.", ""),), expected_by="zoo entry 'toy'")
    text = str(err.value)
    assert str(path) in text and "zoo entry 'toy'" in text
    assert "1 missing: head.bias" in text and "1 unexpected: extra.weight" in text
    assert "conv.weight (6, 3, 3, 3) (expected (4, 3, 3, 3))" in text and "of another shape" in text
    assert _same(model, before)   # nothing loaded


def test_sha256_mismatch(tmp_path):
    path = tmp_path / "net.safetensors"
    save_file(_weights(), str(path))
    with pytest.raises(HandevalError, match="is not the expected"):
        load_checkpoint(path, Net(), expect_sha256="0" * 64)


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_a_pickled_object_is_refused_and_its_code_never_runs(tmp_path, writer):
    marker = tmp_path / "ran.txt"
    content = {"cfg": _Payload(str(marker)), "state_dict": _weights()}
    path = tmp_path / "model.ckpt"
    if writer == "torch.save":
        torch.save(content, path)
    else:
        path.write_bytes(pickle.dumps(content))
    with pytest.raises(HandevalError) as err:
        load_checkpoint(path, Net(), key="state_dict")
    assert not marker.exists() and not RAN
    text = str(err.value)
    assert str(path) in text and "never unpickles" in text and "safetensors.torch" in text
    assert "weights_only=False" in text and "'state_dict'" in text
    with pytest.raises(HandevalError, match="never unpickles"):
        convert_to_safetensors(path, tmp_path / "out.safetensors", key="state_dict")
    assert not marker.exists() and not RAN
    # The payload is live: plain pickle runs it (so the assertions above prove something).
    control = tmp_path / "control.txt"
    pickle.loads(pickle.dumps(_Payload(str(control))))
    assert control.exists() and RAN == [str(control)]
    RAN.clear()


def test_the_conversion_command_in_the_message_works(tmp_path):
    sd = _weights(3)
    path = tmp_path / "lightning.ckpt"
    torch.save({"hyper_parameters": argparse.Namespace(lr=1e-3), "state_dict": sd}, path)
    with pytest.raises(HandevalError) as err:
        load_checkpoint(path, Net())
    command = conversion_command(path)
    assert command in str(err.value)
    # The command runs the PATH's python, as in the user's shell: here, the one running the tests.
    path_var = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    subprocess.run(["bash", "-c", command], check=True, env={**os.environ, "PATH": path_var}, cwd=tmp_path)
    model = Net()
    info = load_checkpoint(path.with_suffix(".safetensors"), model)
    assert info.format == "safetensors" and _same(model, sd)


def test_convert_to_safetensors(tmp_path):
    sd = _weights(4)
    src = tmp_path / "snapshot.pth"
    torch.save({"network": {f"module.{k}": v for k, v in sd.items()}}, src)
    dst = tmp_path / "out" / "net.safetensors"
    info = convert_to_safetensors(src, dst, key="network", renames=((r"^module\.", ""),))
    assert info == CheckpointInfo(str(dst), sha256_file(dst), "safetensors", 0 + len(sd), None)
    assert set(load_file(str(dst))) == set(sd)
    with safe_open(str(dst), "pt") as fh:
        meta = fh.metadata()
    assert meta["handeval.source_sha256"] == sha256_file(src) and meta["handeval.key"] == "network"
    model = Net()
    load_checkpoint(dst, model)
    assert _same(model, sd)


def test_unreadable_files(tmp_path):
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(HandevalError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(empty, Net())
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage" * 10)
    with pytest.raises(HandevalError, match="not a readable safetensors file"):
        load_checkpoint(bad, Net())
    with pytest.raises(HandevalError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pth", Net())
