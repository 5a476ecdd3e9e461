#!/usr/bin/python3
"""Parity of attograd's Transformer with PyTorch (llm.c style), through a
checkpoint and nothing else.

For each configuration below: `attograd train copy` trains a tiny model for a
few steps and saves a safetensors checkpoint; the checkpoint is read with an
independent reader (tests/io/read_safetensors.py: json + numpy) and loaded,
with no renaming, into the PyTorch twin of the model (the "basic" variant of
bench/torch_transformer.py, built with the configuration in the checkpoint's
__metadata__) with load_state_dict(strict=True): a missing, extra or
mis-shaped name fails. Every checkpoint parameter (all but the `optimizer.*`
entries) must be one distinct PyTorch parameter that gets a gradient from the
loss (used, exactly once). Then PyTorch computes the per-token loss and
accuracy of a fixed set of examples (sources and targets of mixed lengths, so
padding is exercised), batched and padded as app/tasks/task.cpp's make_batch
does (tgt_in = tgt[:-1], tgt_out = tgt[1:], pad 0, loss per non-pad token),
and `attograd eval copy --load CKPT --data FILE` must print the same loss
(relative 1e-4 plus its 4-decimal rounding), the same token count and the
same accuracy. Last, `attograd decode` (greedy, with the incremental
decoder) of 1 2 ... 10 must equal PyTorch's greedy decoding.

    torch_parity.py ATTOGRAD_BINARY

Run with Debian's Python (/usr/bin/python3, PyTorch 1.13). Exits 77 (skipped,
for meson) if torch or numpy is not importable, 1 with a message on mismatch.
"""
import math
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch is imported
try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"{e}: torch and numpy for {sys.executable} are needed: skipped")
    sys.exit(77)
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "io"))
from read_safetensors import read  # noqa: E402  (the independent safetensors reader)
from torch_transformer import build_models  # noqa: E402

# (name, extra `attograd train copy` flags). 200 Adam steps at a constant
# 0.003 (about a second each) move every parameter, layer-norm gains and
# biases too, well away from its initial value and half learn the copy (loss
# about 1.1 on copies): the loss then depends on positions, masks and every
# tensor, and a mistake in any of them shows above the tolerance. A model a
# few steps old predicts nearly uniformly and would hide some (a target
# position shifted by one changed the loss by 6e-5 only). Dropout is on in
# training for two of them: evaluation must switch it off, as eval() does.
CASES = [
    ("pre-norm", ["--norm", "pre", "--dropout", "0", "--label-smoothing", "0", "--seed", "11"]),
    ("post-norm", ["--norm", "post", "--dropout", "0.1", "--label-smoothing", "0", "--seed", "12"]),
    ("post-norm, label smoothing 0.1", ["--norm", "post", "--dropout", "0", "--label-smoothing", "0.1",
                                        "--seed", "13"]),
    ("pre-norm, gelu, label smoothing 0.1", ["--norm", "pre", "--activation", "gelu", "--dropout", "0.1",
                                             "--label-smoothing", "0.1", "--seed", "14"]),
]
TRAIN = ["--layers", "2", "--d-model", "32", "--heads", "4", "--d-ff", "64", "--batch", "8", "--steps", "200",
         "--lr-schedule", "constant", "--lr", "0.003", "--threads", "1", "--quiet"]
PAD = 0
RTOL = 1e-5  # float32 through different kernels: ~1e-7 seen
PRINTED = 5e-7  # attograd eval prints the loss with 6 decimals


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def examples():
    """20 fixed copy-task examples: ids in 1..10, targets starting with bos 1;
    sources of 1..12 tokens, half the targets copies, half other lengths."""
    rng = random.Random(4)
    out = []
    for i in range(20):
        src = [rng.randint(1, 10) for _ in range(rng.randint(2 if i % 2 == 0 else 1, 12))]
        if i % 2 == 0:
            src[0] = 1
            tgt = list(src)
        else:
            tgt = [1] + [rng.randint(1, 10) for _ in range(rng.randint(1, 11))]
        out.append((src, tgt))
    return out


def make_batch(chunk):
    """app/tasks/task.cpp's make_batch: src (B, S), tgt_in, tgt_out (B, T), padded with 0."""
    s = max(len(src) for src, _ in chunk)
    t = max(len(tgt) - 1 for _, tgt in chunk)
    src = torch.zeros(len(chunk), s, dtype=torch.long)
    tgt_in = torch.zeros(len(chunk), t, dtype=torch.long)
    tgt_out = torch.zeros(len(chunk), t, dtype=torch.long)
    for i, (a, b) in enumerate(chunk):
        src[i, : len(a)] = torch.tensor(a)
        tgt_in[i, : len(b) - 1] = torch.tensor(b[:-1])
        tgt_out[i, : len(b) - 1] = torch.tensor(b[1:])
    return src, tgt_in, tgt_out


def run(command):
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=100)
    out = result.stdout.decode(errors="replace")
    if result.returncode != 0:
        fail(f"{' '.join(command)} exited with {result.returncode}:\n{out}")
    return out


def attograd_eval(exe, checkpoint, data):
    out = run([exe, "eval", "copy", "--load", checkpoint, "--data", data, "--threads", "1"])
    m = re.search(r"loss (\S+) per token, accuracy (\S+)% over (\d+) target tokens", out)
    if not m:
        fail(f"unexpected `attograd eval` output:\n{out}")
    return float(m.group(1)), float(m.group(2)), int(m.group(3))


def torch_model(metadata):
    meta = lambda key: metadata[key]  # noqa: E731  (a KeyError names the missing entry)
    if meta("task") != "copy":
        fail(f"checkpoint of task {meta('task')}, expected copy")
    basic = build_models(torch)["basic"]
    return basic(int(meta("model.layers")), int(meta("model.d_model")), int(meta("model.heads")),
                 int(meta("model.d_ff")), int(meta("model.tgt_vocab")), meta("model.norm") == "pre", 64,
                 src_vocab=int(meta("model.src_vocab")), dropout=float(meta("model.dropout")),
                 activation=meta("model.activation"))


def load_checkpoint(model, tensors):
    """load_state_dict(strict=True) of every non-optimizer tensor, no renaming;
    then each is one distinct parameter holding exactly the checkpoint's values."""
    state = {k: torch.from_numpy(np.array(v)) for k, v in tensors.items() if not k.startswith("optimizer.")}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        fail(f"the checkpoint does not load into the PyTorch model with strict=True:\n{e}")
    params = dict(model.named_parameters())
    if sorted(params) != sorted(state) or sorted(model.state_dict()) != sorted(state):
        fail(f"PyTorch parameters != checkpoint tensors: {sorted(set(params) ^ set(state))}")
    if len({p.data_ptr() for p in params.values()}) != len(params):
        fail("two checkpoint tensors share one PyTorch parameter")
    for name, p in params.items():
        if not torch.equal(p.detach(), state[name]):
            fail(f"{name} does not hold the checkpoint's values after loading")
    slots = {k[len("optimizer."):].rsplit(".", 1)[0] for k in tensors if k.startswith("optimizer.")}
    if slots - set(state):
        fail(f"optimizer state for {sorted(slots - set(state))}, which are no parameters")
    return params


def torch_eval(model, data, batch, vocab, smoothing):
    """Sum over non-pad target tokens of the label-smoothed cross-entropy, as
    F.cross_entropy computes it and by hand in float64 from log_softmax
    (q = (1 - eps) onehot + eps / V), the number of tokens, and the correct
    argmaxes. Also backpropagates the loss so unused parameters show."""
    f_sum, hand_sum, tokens, correct = 0.0, 0.0, 0, 0
    model.zero_grad(set_to_none=True)
    for i in range(0, len(data), batch):
        src, tgt_in, tgt_out = make_batch(data[i: i + batch])
        logits = model(src, tgt_in).reshape(-1, vocab)
        target = tgt_out.reshape(-1)
        loss = torch.nn.functional.cross_entropy(logits, target, ignore_index=PAD, label_smoothing=smoothing,
                                                 reduction="sum")
        loss.backward()
        f_sum += loss.item()
        keep = target != PAD
        logp = torch.log_softmax(logits.detach().double(), dim=-1)[keep]
        y = target[keep]
        nll = -logp.gather(1, y.unsqueeze(1)).squeeze(1)
        hand_sum += ((1 - smoothing) * nll - smoothing / vocab * logp.sum(1)).sum().item()
        tokens += int(keep.sum())
        correct += int((logits.detach()[keep].argmax(1) == y).sum())
    return f_sum / tokens, hand_sum / tokens, tokens, 100.0 * correct / tokens


def torch_greedy(model, src, steps):
    """Greedy decoding from bos 1 for `steps` tokens, the whole prefix every
    step; also the smallest gap between the best and second-best logit."""
    ys, gap = [1], math.inf
    with torch.no_grad():
        for _ in range(steps):
            logits = model(torch.tensor([src]), torch.tensor([ys]))[0, -1]
            top = torch.topk(logits, 2).values
            gap = min(gap, float(top[0] - top[1]))
            ys.append(int(logits.argmax()))
    return ys, gap


def check_decode(exe, checkpoint, model, name):
    """`attograd decode` (greedy, incremental decoder) against PyTorch's greedy
    decoding over the whole prefix. A near-tie of logits may flip a token
    between the two legitimately: then only a note, not a failure."""
    src = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    out = run([exe, "decode", "copy", "--load", checkpoint, "--input", " ".join(map(str, src)), "--threads", "1"])
    a_ids = [int(w) for w in out.split()]
    t_ids, gap = torch_greedy(model, src, len(src) - 1)
    print(f"  greedy decoding of {' '.join(map(str, src))}: attograd {' '.join(map(str, a_ids))}, "
          f"torch {' '.join(map(str, t_ids))}")
    if a_ids != t_ids:
        if gap < 1e-4:
            print(f"  (they differ after a near-tie: best and second-best logits {gap:.1e} apart)")
        else:
            fail(f"{name}: attograd decodes {a_ids}, torch {t_ids} (smallest logit gap {gap:.1e})")


def check_case(exe, tmp, name, flags, data, data_file):
    checkpoint = os.path.join(tmp, "ckpt.safetensors")
    run([exe, "train", "copy"] + TRAIN + flags + ["--save", checkpoint])
    tensors, metadata = read(checkpoint)
    model = torch_model(metadata)
    params = load_checkpoint(model, tensors)
    model.eval()  # dropout off, as attograd's evaluation
    vocab, smoothing = int(metadata["model.tgt_vocab"]), float(metadata["train.label_smoothing"])
    t_loss, hand_loss, t_tokens, t_acc = torch_eval(model, data, int(metadata["train.batch"]), vocab, smoothing)
    unused = [n for n, p in params.items() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    if unused:
        fail(f"{name}: checkpoint parameters the PyTorch loss does not depend on: {unused}")
    a_loss, a_acc, a_tokens = attograd_eval(exe, checkpoint, data_file)
    rel = abs(a_loss - t_loss) / abs(t_loss)
    print(f"{name}: {len(params)} parameters loaded strictly; loss per token over {t_tokens} tokens: "
          f"attograd {a_loss:.6f}, torch {t_loss:.6f} (by hand {hand_loss:.6f}), relative difference {rel:.1e}; "
          f"accuracy attograd {a_acc:.2f}%, torch {t_acc:.2f}%")
    if abs(hand_loss - t_loss) > 1e-5 * abs(hand_loss):
        fail(f"{name}: F.cross_entropy {t_loss} != the label-smoothed cross-entropy by hand {hand_loss}")
    if a_tokens != t_tokens:
        fail(f"{name}: attograd counted {a_tokens} target tokens, torch {t_tokens}")
    if abs(a_loss - t_loss) > RTOL * abs(t_loss) + PRINTED:
        fail(f"{name}: attograd's loss {a_loss} != torch's {t_loss:.6f}")
    if abs(a_acc - t_acc) > 0.005 + 1e-9:
        fail(f"{name}: attograd's accuracy {a_acc}% != torch's {t_acc:.2f}%")
    check_decode(exe, checkpoint, model, name)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    exe = sys.argv[1]
    torch.set_num_threads(1)
    data = examples()
    with tempfile.TemporaryDirectory() as tmp:
        data_file = os.path.join(tmp, "examples.tsv")
        with open(data_file, "w") as f:
            for src, tgt in data:
                f.write(" ".join(map(str, src)) + "\t" + " ".join(map(str, tgt)) + "\n")
        for name, flags in CASES:
            check_case(exe, tmp, name, flags, data, data_file)
    print("attograd and PyTorch agree")


if __name__ == "__main__":
    main()
