"""On a CUDA GPU: tokens/s and model FLOPs utilisation (MFU) of a BERT-base training step in
bf16 autocast with fused AdamW (random weights and tokens: throughput only). Where no GPU is
visible the row says so."""

from __future__ import annotations

import time

import torch
from transformers import BertConfig, BertModel

from benchmarks.common import row

# dense bf16 tensor-core peaks (FLOP/s) from the vendors' data sheets
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


def peak(name: str) -> float | None:
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def measure(batch: int = 32, seq: int = 128, steps: int = 30, warmup: int = 5) -> list[dict]:
    if not torch.cuda.is_available():
        return [row("GPU training step (BERT-base, bf16)", "no CUDA device on this machine",
                    "not measured", float("nan"), "")]
    dev = torch.device("cuda")
    cfg = BertConfig()  # BERT-base: 12 layers, hidden 768, 12 heads
    model = BertModel(cfg, add_pooling_layer=False).to(dev)
    head = torch.nn.Linear(cfg.hidden_size, 2).to(dev)
    params = [*model.parameters(), *head.parameters()]
    optim = torch.optim.AdamW(params, lr=1e-5, fused=True)
    ids = torch.randint(1000, cfg.vocab_size, (batch, seq), device=dev)
    mask = torch.ones_like(ids)
    y = torch.randint(0, 2, (batch,), device=dev)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            h = model(input_ids=ids, attention_mask=mask).last_hidden_state
            loss = torch.nn.functional.cross_entropy(head(h.mean(1)).float(), y)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    seconds = (time.perf_counter() - t0) / steps
    n_params = sum(p.numel() for n, p in model.named_parameters() if "embeddings" not in n)
    # 6 N per token for the dense layers, plus attention scores and values (fwd+bwd)
    flops_per_token = 6 * n_params + 12 * cfg.num_hidden_layers * cfg.hidden_size * seq
    tokens_per_s = batch * seq / seconds
    name = torch.cuda.get_device_name(0)
    p = peak(name)
    mfu = tokens_per_s * flops_per_token / p if p else float("nan")
    case = f"{name}, batch {batch} x {seq} tokens"
    return [row("GPU training step (BERT-base, bf16)", case, "tokens/s", tokens_per_s, "tok/s"),
            row("GPU training step (BERT-base, bf16)", case, "model FLOPs utilisation", mfu,
                "fraction of peak", peak_flops=p, flops_per_token=flops_per_token)]
