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


def cuda_bf16(device: Any = None) -> bool:
    """Whether a CUDA device computes bf16 natively (compute capability 8.0 and up: A100,
    H100, H200, L4, L40S, RTX 30xx on). V100 and T4 run bf16 emulated, which
    ``torch.cuda.is_bf16_supported()`` counts as support unless told not to."""
    import torch

    if not torch.cuda.is_available():
        return False
    with torch.cuda.device(device if device is not None else torch.cuda.current_device()):
        return torch.cuda.is_bf16_supported(including_emulation=False)


def keep_freed_memory() -> bool:
    """Make this process reuse the memory it frees rather than hand it back to the system.

    glibc serves large blocks (above 128 KiB, rising to 32 MiB) with ``mmap`` and unmaps them
    when freed, and trims the heap's free top: a training step's activations and the
    word-embedding gradient (47 MB for MiniLM) are mapped afresh every step, and the kernel
    zeroes each page at its first touch (7,000-30,000 page faults a MiniLM step here, 0-1,400
    after this). The cost: the process keeps its peak memory until it ends. Returns whether
    it applied (glibc only; elsewhere nothing changes)."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, 2**31 - 1))


def describe() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = torch.cuda.is_available()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1),
            "cpu_bf16": native_bf16(),
            "gpu": torch.cuda.get_device_name(0) if gpu else None,
            "gpu_capability": ".".join(map(str, torch.cuda.get_device_capability(0)))
            if gpu else None,
            "gpu_bf16": cuda_bf16(0) if gpu else None,
            "python": platform.python_version(), "torch": torch.__version__,
            "threads": torch.get_num_threads()}
