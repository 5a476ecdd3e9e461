#!/usr/bin/python3
"""The PyTorch side of issue 6's benchmark: the same encoder-decoder
Transformer attograd trains (bench/bench_train.cpp), on the same random-token
batches, timed the same way, printing the same JSON fields.

Two variants:
  basic -- written from basic torch ops (nn.Linear, matmul, softmax,
           LayerNorm, dropout, F.cross_entropy(label_smoothing=...)),
           the architecture of models/transformer.cpp line for line, with
           attograd's parameter names as its state_dict keys: an attograd
           checkpoint loads into it with load_state_dict(strict=True)
           (tests/models/torch_parity.py; build_models() below);
  nn    -- torch.nn.Transformer with the same embeddings, positional
           encoding, generator and loss. nn.Transformer always ends each stack
           with a LayerNorm, even post-norm: two extra LayerNorms, no matmuls.

Run it with Debian's Python (PyTorch 1.13): /usr/bin/python3. OMP_WAIT_POLICY
only takes effect if set before torch is imported: --omp-wait-policy sets it
before the import (bench/run.sh also sets it in the environment).

  /usr/bin/python3 bench/torch_transformer.py --config small --threads 2 \\
      --variant basic --omp-wait-policy PASSIVE
"""
import argparse
import json
import math
import os
import resource
import sys
import time

# name: (layers, D, H, F, V, S, T, B, pre_norm, label_smoothing, copy_task)
# The same table as bench/bench_common.cpp; copy is the copy task's defaults.
CONFIGS = {
    "tiny": (2, 128, 4, 512, 1000, 32, 32, 32, False, 0.1, False),
    "small": (2, 256, 8, 1024, 8000, 64, 64, 32, False, 0.1, False),
    "base": (6, 512, 8, 2048, 8000, 64, 64, 16, False, 0.1, False),
    "copy": (2, 512, 8, 2048, 11, 10, 9, 30, True, 0.0, True),
}
DROPOUT = 0.1
LEARNING_RATE = 1e-4


def model_json(name):
    layers, d, h, f, v, s, t, b, pre, ls, _ = CONFIGS[name]
    return {"layers": layers, "d_model": d, "heads": h, "d_ff": f, "vocab": v, "src_len": s,
            "tgt_len": t, "batch": b, "norm": "pre" if pre else "post", "label_smoothing": ls,
            "dropout": DROPOUT}


def matmul_flops_per_step(name):
    """Forward + backward flops of every matmul (multiply-add = 2): the
    forward product plus both gradients, 3x the forward."""
    layers, d, h, f, v, s, t, b, _, _, _ = CONFIGS[name]
    n, m = b * s, b * t  # source and target tokens
    encoder = 4 * 2 * n * d * d + 2 * 2 * n * d * f + 2 * 2 * b * s * s * d
    decoder = (4 * 2 * m * d * d + 2 * 2 * b * t * t * d  # self-attention
               + 2 * 2 * m * d * d + 2 * 2 * n * d * d + 2 * 2 * b * t * s * d  # cross-attention
               + 2 * 2 * m * d * f)
    return 3 * (layers * (encoder + decoder) + 2 * m * d * v)


def median_of(values):
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])


def rss_mib(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def build_models(torch):
    """{"basic": BasicTransformer, "nn": NnTransformer}, both called as
    (layers, d, h, ff, v, pre, max_len, src_vocab=v, dropout=DROPOUT,
    activation="relu", norm_eps=1e-5).

    BasicTransformer's state_dict keys and shapes are attograd's parameter
    names exactly (models/transformer.hpp), so an attograd checkpoint loads
    with load_state_dict(strict=True) and no renaming
    (tests/models/torch_parity.py does it):
      src_embed.weight (V_src, D)   tgt_embed.weight (V, D)
      encoder.layers.N.self_attn.{q,k,v,out}_proj.{weight (D, D), bias (D)}
      encoder.layers.N.feed_forward.linear1.{weight (F, D), bias (F)}, linear2.{weight (D, F), bias (D)}
      encoder.layers.N.norm{1,2}.{weight, bias} (D)
      decoder.layers.N.{self_attn, src_attn, feed_forward}.*, norm{1,2,3}.*
      encoder.norm.*, decoder.norm.* (pre-norm only)   generator.{weight (V, D), bias (V)}
    The positional encoding is a non-persistent buffer: not in the state_dict."""
    nn = torch.nn
    F = nn.functional

    def positional_encoding(length, d):
        """(1, length, d): sin at even features, cos at odd ones, computed in
        double and rounded once, as models/layers.cpp does."""
        pos = torch.arange(length, dtype=torch.float64).unsqueeze(1)
        angle = pos / torch.pow(10000.0, torch.arange(0, d, 2, dtype=torch.float64) / d)
        pe = torch.zeros(length, d, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(angle)
        pe[:, 1::2] = torch.cos(angle[:, : d // 2])
        return pe.to(torch.float32).unsqueeze(0)

    class Embed(nn.Module):
        """Token embedding * sqrt(D) + sinusoidal positions, then dropout.
        The table is the module's own `weight`, as attograd's src_embed.weight."""

        def __init__(self, v, d, max_len, dropout):
            super().__init__()
            # normal_ as nn.Embedding does, so the random stream (and every
            # value after the Xavier init below) is that of an nn.Embedding.
            self.weight = nn.Parameter(torch.empty(v, d).normal_())
            self.scale = math.sqrt(d)
            self.register_buffer("pe", positional_encoding(max_len, d), persistent=False)
            self.drop = nn.Dropout(dropout)

        def forward(self, ids):
            return self.drop(F.embedding(ids, self.weight) * self.scale + self.pe[:, : ids.shape[1]])

    class Attention(nn.Module):
        def __init__(self, d, h, dropout):
            super().__init__()
            self.h = h
            self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))
            self.drop = nn.Dropout(dropout)

        def forward(self, x, kv, mask):  # x (B,T,D), kv (B,S,D), mask (B|1,T|1,S) bool keep
            b, t, d = x.shape
            s, k = kv.shape[1], d // self.h
            q = self.q_proj(x).view(b, t, self.h, k).transpose(1, 2)  # (B,H,T,K)
            key = self.k_proj(kv).view(b, s, self.h, k).transpose(1, 2)
            val = self.v_proj(kv).view(b, s, self.h, k).transpose(1, 2)
            scores = torch.matmul(q, key.transpose(-2, -1)) / math.sqrt(k)  # (B,H,T,S)
            weights = F.softmax(scores.masked_fill(~mask.unsqueeze(1), -1e9), dim=-1)
            out = torch.matmul(self.drop(weights), val)  # (B,H,T,K)
            return self.out_proj(out.transpose(1, 2).reshape(b, t, d))

    class FeedForward(nn.Module):
        def __init__(self, d, ff, dropout, activation):
            super().__init__()
            self.linear1, self.linear2, self.drop = nn.Linear(d, ff), nn.Linear(ff, d), nn.Dropout(dropout)
            self.act = {"relu": F.relu, "gelu": F.gelu}[activation]  # gelu: exact (erf), as attograd's

        def forward(self, x):
            return self.linear2(self.drop(self.act(self.linear1(x))))

    class Layer(nn.Module):
        """A residual sublayer around f with its norm:
        post: norm(x + drop(f(x)))   pre: x + drop(f(norm(x)))"""

        def __init__(self, pre, dropout):
            super().__init__()
            self.pre, self.drop = pre, nn.Dropout(dropout)

        def residual(self, x, norm, f):
            if self.pre:
                return x + self.drop(f(norm(x)))
            return norm(x + self.drop(f(x)))

    class EncoderLayer(Layer):
        def __init__(self, d, h, ff, pre, dropout, activation, eps):
            super().__init__(pre, dropout)
            self.self_attn, self.feed_forward = Attention(d, h, dropout), FeedForward(d, ff, dropout, activation)
            self.norm1, self.norm2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)

        def forward(self, x, mask):
            x = self.residual(x, self.norm1, lambda y: self.self_attn(y, y, mask))
            return self.residual(x, self.norm2, self.feed_forward)

    class DecoderLayer(Layer):
        def __init__(self, d, h, ff, pre, dropout, activation, eps):
            super().__init__(pre, dropout)
            self.self_attn, self.src_attn = Attention(d, h, dropout), Attention(d, h, dropout)
            self.feed_forward = FeedForward(d, ff, dropout, activation)
            self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d, eps=eps) for _ in range(3))

        def forward(self, x, memory, src_mask, tgt_mask):
            x = self.residual(x, self.norm1, lambda y: self.self_attn(y, y, tgt_mask))
            x = self.residual(x, self.norm2, lambda y: self.src_attn(y, memory, src_mask))
            return self.residual(x, self.norm3, self.feed_forward)

    class Stack(nn.Module):
        """`layers` in order, then (pre-norm only) the final LayerNorm `norm`."""

        def __init__(self, layers, d, pre, eps):
            super().__init__()
            self.layers = nn.ModuleList(layers)
            self.norm = nn.LayerNorm(d, eps=eps) if pre else nn.Identity()

        def forward(self, x, *masks):
            for layer in self.layers:
                x = layer(x, *masks)
            return self.norm(x)

    class BasicTransformer(nn.Module):
        def __init__(self, layers, d, h, ff, v, pre, max_len, src_vocab=None, dropout=DROPOUT, activation="relu",
                     norm_eps=1e-5):
            super().__init__()
            src_vocab = v if src_vocab is None else src_vocab
            self.src_embed, self.tgt_embed = Embed(src_vocab, d, max_len, dropout), Embed(v, d, max_len, dropout)
            self.encoder = Stack((EncoderLayer(d, h, ff, pre, dropout, activation, norm_eps) for _ in range(layers)),
                                 d, pre, norm_eps)
            self.decoder = Stack((DecoderLayer(d, h, ff, pre, dropout, activation, norm_eps) for _ in range(layers)),
                                 d, pre, norm_eps)
            self.generator = nn.Linear(d, v)
            for p in self.parameters():  # as models/layers.cpp: Xavier-uniform matrices
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)

        def forward(self, src, tgt):
            src_mask = (src != 0).unsqueeze(-2)  # (B,1,S)
            t = tgt.shape[1]
            causal = torch.tril(torch.ones(t, t, dtype=torch.bool)).unsqueeze(0)
            tgt_mask = (tgt != 0).unsqueeze(-2) & causal  # (B,T,T)
            memory = self.encoder(self.src_embed(src), src_mask)
            return self.generator(self.decoder(self.tgt_embed(tgt), memory, src_mask, tgt_mask))

    class NnTransformer(nn.Module):
        def __init__(self, layers, d, h, ff, v, pre, max_len, src_vocab=None, dropout=DROPOUT, activation="relu",
                     norm_eps=1e-5):
            super().__init__()
            src_vocab = v if src_vocab is None else src_vocab
            self.src_embed, self.tgt_embed = Embed(src_vocab, d, max_len, dropout), Embed(v, d, max_len, dropout)
            self.core = nn.Transformer(d, h, layers, layers, ff, dropout, activation, batch_first=True,
                                       norm_first=pre, layer_norm_eps=norm_eps)
            self.generator = nn.Linear(d, v)
            for p in self.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)

        def forward(self, src, tgt):
            causal = self.core.generate_square_subsequent_mask(tgt.shape[1])
            y = self.core(self.src_embed(src), self.tgt_embed(tgt), tgt_mask=causal,
                          src_key_padding_mask=src == 0, tgt_key_padding_mask=tgt == 0,
                          memory_key_padding_mask=src == 0)
            return self.generator(y)

    return {"basic": BasicTransformer, "nn": NnTransformer}


def batches(torch, name, count, seed):
    """(src, tgt_in, tgt_out) per step: random ids in 1..V-1, the target
    starting with bos = 1; copy: the copy task (target = source, first id 1)."""
    _, _, _, _, v, s, t, b, _, _, copy = CONFIGS[name]
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        if copy:
            src = torch.randint(1, v, (b, s), generator=gen)
            src[:, 0] = 1
            tgt = src
        else:
            src = torch.randint(1, v, (b, s), generator=gen)
            tgt = torch.randint(1, v, (b, t + 1), generator=gen)
            tgt[:, 0] = 1
        out.append((src, tgt[:, :-1].contiguous(), tgt[:, 1:].contiguous()))
    return out


def train(args):
    import torch  # after OMP_WAIT_POLICY is in the environment

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    layers, d, h, ff, v, s, t, b, pre, ls, _ = CONFIGS[args.config]
    model = build_models(torch)[args.variant](layers, d, h, ff, v, pre, max(s, t))
    model.train()
    adam = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, betas=(0.9, 0.98), eps=1e-9)
    data = batches(torch, args.config, args.warmup_steps + args.steps, args.seed)
    rss_before = rss_mib("VmRSS")

    # --autocast bf16: PyTorch's CPU mixed precision, as its documentation
    # uses it: forward and loss under autocast, backward and the step outside.
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast == "bf16")

    def step(src, tgt_in, tgt_out):
        adam.zero_grad(set_to_none=True)
        with autocast:
            logits = model(src, tgt_in)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, v), tgt_out.reshape(-1), ignore_index=0,
                                                     label_smoothing=ls)
        loss.backward()
        adam.step()
        return loss.item()

    times, cpu_times, losses = [], [], []
    for i, batch in enumerate(data):
        start, cpu_start = time.perf_counter(), time.process_time()
        losses.append(step(*batch))
        if i >= args.warmup_steps:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    ordered = sorted(times)
    median = median_of(times)
    tokens = int((data[-1][2] != 0).sum())
    flops = matmul_flops_per_step(args.config)
    return {
        "mode": "train", "engine": "torch-" + args.variant, "config": args.config,
        "model": model_json(args.config), "threads": args.threads,
        "precision": "bf16" if args.autocast == "bf16" else "f32",
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""), "torch_version": torch.__version__,
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", ""),
        "warmup_steps": args.warmup_steps, "steps": args.steps, "step_times_s": times,
        "median_s": median, "min_s": ordered[0], "max_s": ordered[-1],
        "cpu_times_s": cpu_times, "median_cpu_s": median_of(cpu_times),
        "target_tokens_per_step": tokens, "tokens_per_s": tokens / median,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rss_before_training_mib": rss_before,
        "parameters": sum(p.numel() for p in model.parameters()),
        "matmul_flops_per_step": flops, "gflops": flops / median * 1e-9,
        "first_loss": losses[0], "last_loss": losses[-1],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    parser.add_argument("--variant", choices=["basic", "nn"], default="basic")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup-steps", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--autocast", choices=["off", "bf16"], default="off",
                        help="bf16: forward and loss under torch.autocast('cpu', dtype=torch.bfloat16)")
    parser.add_argument("--omp-wait-policy", choices=["ACTIVE", "PASSIVE"],
                        help="set OMP_WAIT_POLICY before importing torch")
    args = parser.parse_args()
    if args.threads < 1 or args.steps < 1 or args.warmup_steps < 1:
        parser.error("--threads, --steps and --warmup-steps must be >= 1")
    if args.omp_wait_policy:
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy
    # torch.set_num_threads limits torch's OpenMP pool only; Debian's torch
    # calls OpenBLAS (pthreads build), whose own pool would otherwise use
    # every core: a "1 thread" run used 2 CPU-seconds per second. Same
    # thread count as attograd means the same number of cores for both.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    print(json.dumps(train(args)))


if __name__ == "__main__":
    sys.exit(main())
