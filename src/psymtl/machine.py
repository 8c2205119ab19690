"""What a result was computed on: processor, cores, memory, GPU, library versions."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any


def cpu_flags() -> set[str]:
    """The CPU's feature flags (x86 ``flags``, Arm ``Features`` in /proc/cpuinfo)."""
    with contextlib.suppress(OSError, StopIteration):
        line = next(x for x in Path("/proc/cpuinfo").read_text().splitlines()
                    if x.startswith(("flags", "Features")))
        return set(line.split(":", 1)[1].split())
    return set()


def native_bf16() -> bool:
    """Whether the CPU has bf16 arithmetic units (x86: AVX512-BF16 or AMX-BF16; Arm: BF16).
    Elsewhere bf16 is emulated: an AVX2-only EPYC multiplies bf16 about 70x slower than fp32.
    Read from the flags, not timed, so that a loaded machine cannot change the decision."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16", "bf16"})


def describe() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1),
            "cpu_bf16": native_bf16(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "python": platform.python_version(), "torch": torch.__version__,
            "threads": torch.get_num_threads()}
