#!/usr/bin/env python3
"""PyTorch + transformers doing the training steps of contrastive-trainer (not part of CI).

The same model (the run's config.json), the same tokenizer (tokenizer.json), the same banners
(a records file written by `cargo run --release --example simulate`), the same batch sizes and
the same losses as `examples/pretrain.rs` / `examples/finetune.rs`:

- masked-LM step: 32 banners of all protocols, RoBERTa 15% / 80-10-10 masking, cross-entropy on the masked
  positions only (the head is applied to the masked positions, as roberta-model does),
  backward, AdamW (weight decay 0.01), per-parameter gradient-norm clipping 1.0 (burn's rule);
- fine-tuning step: 16 pairs of HTTP banners (the same banner twice stands in for the pair,
  which has the same cost), one forward over both sides, BCE of the stability head on all real
  tokens, P(stable)-weighted mean pooling, L2 normalisation, pull/push distances, backward, AdamW.

Batches are made as contrastive-trainer makes them, so both sides pad the same: a seeded
permutation cut into windows (50 batches for masked LM, 8 for fine-tuning), each window sorted
by length and cut into batches (`--no-bucket`: fully random batches). Dropout is `--dropout`
(default 0, contrastive-trainer's default; `--dropout 0.1` is the RoBERTa configuration's).
The tokenizer's own padding/truncation settings are switched off; sequences are cut to the
model's positions as bpe-tokenizer does.

Reports tokens/s (real tokens, padding excluded, as the Rust trainer logs) and the share of
padded positions, as the median over --repeats timed steps after --warmup steps.

Usage:
  python3 benches/python/train_baseline.py --config runs/mlm/final/config.json \
      --tokenizer runs/mlm/final/tokenizer.json --records data/sim/records-2023-01-04.jsonl.gz \
      --threads 2
"""
import argparse
import gzip
import json
import random
import statistics
import time

import torch
from tokenizers import Tokenizer
from transformers import RobertaConfig, RobertaForMaskedLM, RobertaForTokenClassification


def read_banners(path, limit):
    opener = gzip.open if path.endswith(".gz") else open
    out = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("banner_encoding") == "base64":
                continue
            out.append((rec.get("protocol", ""), rec["banner"]))
            if len(out) >= limit:
                break
    return out


def latin1_text(s):
    # bpe-tokenizer maps each banner byte to one char (latin-1); JSON banners are UTF-8 text.
    return s.encode("utf-8").decode("latin-1")


def padded(batch_ids, pad):
    width = max(len(x) for x in batch_ids)
    ids = torch.full((len(batch_ids), width), pad, dtype=torch.long)
    for i, x in enumerate(batch_ids):
        ids[i, : len(x)] = torch.tensor(x)
    return ids


def clip_per_param(model, max_norm):
    for p in model.parameters():
        if p.grad is not None:
            n = p.grad.norm()
            p.grad.mul_(torch.clamp(max_norm / (n + 1e-38), max=1.0))


def mlm_step(model, opt, ids, cfg, gen):
    special = ids <= 4
    probs = torch.full(ids.shape, 0.15)
    probs[special] = 0
    chosen = torch.bernoulli(probs, generator=gen).bool()
    labels = ids[chosen]
    inp = ids.clone()
    r = torch.rand(ids.shape, generator=gen)
    inp[chosen & (r < 0.8)] = 4
    rnd = chosen & (r >= 0.8) & (r < 0.9)
    inp[rnd] = torch.randint(5, cfg.vocab_size, (int(rnd.sum()),), generator=gen)
    attn = (ids != 1).long()
    states = model.roberta(input_ids=inp, attention_mask=attn).last_hidden_state
    logits = model.lm_head(states[chosen])
    loss = torch.nn.functional.cross_entropy(logits, labels)
    opt.zero_grad()
    loss.backward()
    clip_per_param(model, 1.0)
    opt.step()


def ft_step(model, opt, ids):
    attn = (ids != 1).long()
    both = torch.cat([ids, ids.flip(0)], 0)
    mask = torch.cat([attn, attn.flip(0)], 0)
    states = model.roberta(input_ids=both, attention_mask=mask).last_hidden_state
    logits = model.classifier(states).squeeze(-1)
    target = torch.ones_like(logits)
    w = mask.float()
    bce = (torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none") * w).sum() / w.sum()
    p = torch.sigmoid(logits) * w
    emb = (states * p.unsqueeze(-1)).sum(1)
    emb = emb / emb.norm(dim=1, keepdim=True).clamp_min(1e-12)
    n = ids.shape[0]
    a, b = emb[:n], emb[n:]
    pull = (a - b).norm(dim=1).mean()
    push = (a - b.roll(-1, 0)).norm(dim=1).mean()
    loss = bce + pull - push
    opt.zero_grad()
    loss.backward()
    clip_per_param(model, 1.0)
    opt.step()


def bucketed_batches(lengths, batch, window, rng, bucket=True):
    """contrastive-trainer's BatchOrder: windows of `window` batches sorted by length."""
    perm = list(range(len(lengths)))
    rng.shuffle(perm)
    if not bucket:
        return [perm[i : i + batch] for i in range(0, len(perm) - batch + 1, batch)]
    out = []
    for s in range(0, len(perm), batch * window):
        chunk = sorted(perm[s : s + batch * window], key=lambda i: lengths[i])
        bs = [chunk[i : i + batch] for i in range(0, len(chunk) - batch + 1, batch)]
        rng.shuffle(bs)
        out.extend(bs)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--records", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mlm-batch", type=int, default=32)
    ap.add_argument("--ft-batch", type=int, default=16, help="pairs per fine-tuning step")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--no-bucket", action="store_true")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg_json = json.load(open(args.config))
    cfg = RobertaConfig(**{k: v for k, v in cfg_json.items() if k not in ("architectures",)})
    cfg.num_labels = 1
    cfg.hidden_dropout_prob = args.dropout
    cfg.attention_probs_dropout_prob = args.dropout
    cfg.classifier_dropout = args.dropout
    tok = Tokenizer.from_file(args.tokenizer)
    tok.no_padding()
    tok.no_truncation()
    records = read_banners(args.records, 20_000)
    enc = [e.ids for e in tok.encode_batch([latin1_text(b) for _, b in records])]
    limit = cfg.max_position_embeddings - 2
    # bpe-tokenizer truncates to the model's positions keeping <s> ... </s>.
    enc = [e if len(e) <= limit else e[: limit - 1] + [2] for e in enc]
    keep = [i for i, e in enumerate(enc) if len(e) > 2]
    rng = random.Random(0)
    gen = torch.Generator().manual_seed(0)
    for name in ("mlm", "finetune"):
        if name == "mlm":
            model = RobertaForMaskedLM(cfg)
            pool = [enc[i] for i in keep]
            batch, window = args.mlm_batch, 50
        else:
            model = RobertaForTokenClassification(cfg)
            pool = [enc[i] for i in keep if records[i][0] == "http"]
            batch, window = args.ft_batch, 8
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        order = bucketed_batches([len(x) for x in pool], batch, window, rng, not args.no_bucket)
        rates, pad_shares = [], []
        for i in range(args.warmup + args.repeats):
            seqs = [pool[j] for j in order[i % len(order)]]
            ids = padded(seqs, 1)
            sides = 2 if name == "finetune" else 1
            tokens = sum(len(x) for x in seqs) * sides
            t0 = time.perf_counter()
            if name == "mlm":
                mlm_step(model, opt, ids, cfg, gen)
            else:
                ft_step(model, opt, ids)
            dt = time.perf_counter() - t0
            if i >= args.warmup:
                rates.append(tokens / dt)
                pad_shares.append(1 - tokens / (ids.numel() * sides))
        print(f"{name}: median {statistics.median(rates):,.0f} tokens/s over {args.repeats} steps "
              f"(batch {batch}, padded positions {statistics.mean(pad_shares):.0%}, "
              f"dropout {args.dropout}, torch {torch.__version__}, {args.threads} threads)")


if __name__ == "__main__":
    main()
