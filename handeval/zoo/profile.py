"""What a network entry costs: parameters, multiply-accumulates per sample (per top-level part), the operators
the counter could not count, latency and throughput, and how far bfloat16 autocast moves the decoded joints
(``data_specs/zoo_profile.md``).

The counter is ``torch.utils.flop_counter.FlopCounterMode``: 2 FLOPs per multiply-accumulate of the
convolutions and matrix products it has a formula for, nothing for anything else (normalisation,
activations, pooling, softmax, elementwise arithmetic); GMACs = its FLOPs / 2.
"""

from __future__ import annotations

import math
import platform
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, flop_registry

from handeval.util.errors import HandevalError
from handeval.zoo.model import ZooModel

COUNTER = f"torch.utils.flop_counter.FlopCounterMode (torch {torch.__version__})"
CONVENTION = "GMACs = FLOPs / 2; one multiply-accumulate of a convolution or matrix product = 1 MAC; " \
             "bias, normalisation, activations, pooling and elementwise operations are not counted"
#: Name tokens of operators that contract (their cost grows faster than their output): an executed one
#: without a formula means the total is short. Elementwise and data-movement operators are not flagged:
#: they are uncounted by this convention, not missed.
_CONTRACTION_TOKENS = {"mm", "bmm", "addmm", "addbmm", "baddbmm", "matmul", "linear", "einsum", "tensordot",
                       "bilinear", "trilinear", "mv", "addmv", "dot", "vdot", "lstm", "gru", "rnn", "cdist"}


#: The dtypes autocast runs a network in.
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def is_contraction(op_name: str) -> bool:
    """Whether an aten operator name (e.g. "aten._scaled_dot_product_flash_attention_for_cpu") is a
    contraction by its name: a token starting with "conv", ending with "attention", or in the set above."""
    tokens = op_name.rsplit(".", 1)[-1].strip("_").split("_")
    return any(t.startswith("conv") or t.endswith("attention") or t in _CONTRACTION_TOKENS for t in tokens)


class _OpRecorder(TorchDispatchMode):
    """Every aten operator packet a forward executes."""

    def __init__(self):
        super().__init__()
        self.ops: set = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(func.overloadpacket)
        return func(*args, **(kwargs or {}))


@dataclass
class FlopCount:
    """One forward's count: FLOPs in total, per top-level child module (``"(top level)"``: outside every
    child), per operator; ``uncounted``: contraction operators that ran without a formula."""

    flops: int
    by_child: dict[str, int]
    by_op: dict[str, int]
    uncounted: list[str]

    @property
    def gmacs(self) -> float:
        return self.flops / 2e9


def count_flops(model: torch.nn.Module, inputs: torch.Tensor, mapping: dict | None = None) -> FlopCount:
    """Count one forward of ``model`` on ``inputs``; ``mapping``: FlopCounterMode ``custom_mapping``
    formulas (aten packet -> FLOPs) that replace or add to torch's registry."""
    counter = FlopCounterMode(display=False, custom_mapping=mapping or {})
    recorder = _OpRecorder()
    with torch.no_grad(), counter, recorder:
        model(inputs)
    per_module = counter.get_flop_counts()
    root = type(model).__name__
    by_child = {name: sum(per_module.get(f"{root}.{name}", {}).values()) for name, _ in model.named_children()}
    total = counter.get_total_flops()
    if total - sum(by_child.values()):
        by_child["(top level)"] = total - sum(by_child.values())
    by_op = {str(op): flops for op, flops in per_module.get("Global", {}).items()}
    known = set(flop_registry) | set(mapping or {})
    uncounted = sorted(str(op) for op in recorder.ops if op not in known and is_contraction(str(op)))
    return FlopCount(total, by_child, by_op, uncounted)


def _fvcore_2020_conv(x_shape, w_shape, bias_shape, stride, padding, dilation, transposed, *args, out_shape=None,
                      **kwargs) -> int:
    # fvcore before facebookresearch/fvcore@f70407e (2021-10-27, "Fixed flop counting for transposed
    # convolution") read every convolution as a regular one: output positions x out_shape[1] x w_shape[1]
    # x kernel. A transposed weight is (in, out, k, k), so w_shape[1] is its *output* width and the count
    # runs over the (stride^2 larger) output grid.
    return 2 * x_shape[0] * math.prod(out_shape[2:]) * out_shape[1] * w_shape[1] * math.prod(w_shape[2:])


def _fvcore_batch_norm(x_shape, weight_shape, *args, out_shape=None, **kwargs) -> int:
    # fvcore counts an inference batch norm with affine parameters as 2 "flops" (its MACs) per element.
    return 2 * 2 * math.prod(x_shape) if weight_shape is not None else 2 * math.prod(x_shape)


#: The counting rules of fvcore 0.1.x before 2021-10-27 (facebookresearch/fvcore:fvcore/nn/jit_handles.py
#: conv_flop_count and batchnorm_flop_jit at f70407e^), as FlopCounterMode formulas over shapes, in FLOPs = 2 x its
#: "flops": the convention that reproduces LWA-HAND's Table 1 figures for InterNet (data_specs/zoo_profile.md).
FVCORE_2020 = {torch.ops.aten.convolution: _fvcore_2020_conv,
               torch.ops.aten.native_batch_norm: _fvcore_batch_norm,
               torch.ops.aten._native_batch_norm_legit_no_training: _fvcore_batch_norm}


@dataclass
class Profile:
    model: str
    device: str
    device_name: str
    torch: str
    threads: int
    dtype: str
    params: int
    counter: str
    convention: str
    gmacs: float                       # per sample (batch 1)
    gmacs_by_child: dict[str, float]
    flops_by_op: dict[str, int]
    uncounted_ops: list[str]
    warnings: list[str]
    latency_ms_p50: float              # batch 1, after warm-up, device synchronised
    latency_ms_p95: float
    throughput: float                  # samples / s at ``batch``
    batch: int
    warmup: int
    repeats: int
    bf16_joints_max_mm: float          # fp32 vs bfloat16-autocast forward, both decoded in float32
    bf16_joints_mean_mm: float
    bf16_joints_median_relative: float  # the drift over the joint's distance from its root
    timing_scope: str = "model forward only (no decode, no crop, no MANO)"
    weights: str = "as loaded (random unless a checkpoint was loaded)"

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        parts = ", ".join(f"{k} {v:.3f}" for k, v in self.gmacs_by_child.items())
        lines = [f"{self.model}: {self.params / 1e6:.2f} M parameters, {self.gmacs:.3f} GMACs per sample ({parts})",
                 f"  counter: {self.counter}; {self.convention}",
                 f"  latency at batch 1: p50 {self.latency_ms_p50:.2f} ms, p95 {self.latency_ms_p95:.2f} ms "
                 f"({self.dtype}, {self.device_name}, {self.threads} threads; {self.timing_scope})",
                 f"  throughput at batch {self.batch}: {self.throughput:.3g} samples/s",
                 f"  fp32 vs bf16 decoded joints: mean {self.bf16_joints_mean_mm:.3g} mm, max "
                 f"{self.bf16_joints_max_mm:.3g} mm, median {100 * self.bf16_joints_median_relative:.2g} % of the "
                 f"joint's distance from its root ({self.weights})"]
        return "\n".join(lines + [f"  warning: {w}" for w in self.warnings])


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_record(device: torch.device) -> dict:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name()
    return {"type": device.type, "name": name, "torch": torch.__version__, "cuda": torch.version.cuda,
            "threads": torch.get_num_threads()}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _seconds(run, device: torch.device, warmup: int, repeats: int) -> np.ndarray:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        run()
        _sync(device)
        times.append(time.perf_counter() - start)
    return np.asarray(times)


def profile_model(model: ZooModel, device: str = "cpu", dtype: str = "fp32", batch: int = 8, warmup: int = 5,
                  repeats: int = 20) -> Profile:
    """Profile ``model`` (moved to ``device`` and put in eval mode). ``dtype``: "fp32", or "bf16" to time the
    forward under bfloat16 autocast. FLOPs are counted on one sample in float32."""
    if dtype not in DTYPES:
        raise HandevalError(f"--dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    dev = torch.device(device)
    model = model.to(dev).eval()
    count = count_flops(model, model.example_input(1, dev))
    messages = []
    if count.uncounted:
        messages.append("operators without a FLOP formula ran and count as 0, so the total is short: "
                        + ", ".join(count.uncounted))
        warnings.warn(f"{model.entry.name}: {messages[-1]}", RuntimeWarning, stacklevel=2)

    def forward(x, half: str):
        with torch.inference_mode(), torch.autocast(dev.type, dtype=DTYPES[half], enabled=half != "fp32"):
            return {k: v.float() for k, v in model(x).items()}  # decoding is float32, as the runner's

    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(0)
        one, many = model.example_input(1, dev), model.example_input(batch, dev)
    single = _seconds(lambda: forward(one, dtype), dev, warmup, repeats) * 1e3
    batched = _seconds(lambda: forward(many, dtype), dev, max(1, warmup // 2), max(2, repeats // 4))

    views = model.example_views(batch, dev)
    with torch.inference_mode():
        full = model.decode(forward(many, "fp32"), views).joints
        half = model.decode(forward(many, "bf16"), views).joints
    diff = (full - half).norm(dim=-1) * 1e3
    # Relative to each joint's distance from its hand's root: random weights can put hands anywhere.
    spread = (full - full[:, :, :1]).norm(dim=-1) * 1e3
    finite = torch.isfinite(diff) & torch.isfinite(spread) & (spread > 0)
    relative = (diff[finite] / spread[finite]).median() if finite.any() else torch.tensor(float("nan"))
    diff = diff[torch.isfinite(diff)]
    name = device_record(dev)["name"]
    return Profile(
        model=model.entry.name, device=str(dev), device_name=name, torch=torch.__version__,
        threads=torch.get_num_threads(), dtype=dtype, params=sum(p.numel() for p in model.parameters()),
        counter=COUNTER, convention=CONVENTION, gmacs=count.gmacs,
        gmacs_by_child={k: v / 2e9 for k, v in count.by_child.items()}, flops_by_op=count.by_op,
        uncounted_ops=count.uncounted, warnings=messages,
        latency_ms_p50=float(np.percentile(single, 50)), latency_ms_p95=float(np.percentile(single, 95)),
        throughput=batch / float(np.median(batched)), batch=batch, warmup=warmup, repeats=repeats,
        bf16_joints_max_mm=float(diff.max()) if diff.numel() else float("nan"),
        bf16_joints_mean_mm=float(diff.mean()) if diff.numel() else float("nan"),
        bf16_joints_median_relative=float(relative))
