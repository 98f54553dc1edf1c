#!/usr/bin/env python3
"""PyTorch + transformers doing the training steps of contrastive-trainer (not part of CI).

The same model (the run's config.json), the same tokenizer (tokenizer.json), the same banners
(a records file written by `cargo run --release --example simulate`), the same batch sizes and
the same losses as `examples/pretrain.rs` / `examples/finetune.rs`:

- masked-LM step: 32 banners, RoBERTa 15% / 80-10-10 masking, cross-entropy on the masked
  positions only (the head is applied to the masked positions, as roberta-model does),
  backward, AdamW (weight decay 0.01), per-parameter gradient-norm clipping 1.0 (burn's rule);
- fine-tuning step: 32 pairs (the same banner twice stands in for the pair, which has the same
  cost), one forward over both sides, BCE of the stability head on all real tokens, P(stable)-
  weighted mean pooling, L2 normalisation, pull/push distances, backward, AdamW.

Reports tokens/s (real tokens, padding excluded, as the Rust trainer logs) as the median over
--repeats timed steps after --warmup steps.

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
            out.append(rec["banner"])
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--records", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg_json = json.load(open(args.config))
    cfg = RobertaConfig(**{k: v for k, v in cfg_json.items() if k not in ("architectures",)})
    cfg.num_labels = 1
    tok = Tokenizer.from_file(args.tokenizer)
    banners = read_banners(args.records, 20_000)
    enc = [e.ids for e in tok.encode_batch([latin1_text(b) for b in banners])]
    enc = [e[: cfg.max_position_embeddings - 2] for e in enc if len(e) > 2]
    rng = random.Random(0)
    gen = torch.Generator().manual_seed(0)
    for name in ("mlm", "finetune"):
        if name == "mlm":
            model = RobertaForMaskedLM(cfg)
        else:
            model = RobertaForTokenClassification(cfg)
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        rates = []
        for i in range(args.warmup + args.repeats):
            batch = [enc[rng.randrange(len(enc))] for _ in range(args.batch)]
            ids = padded(batch, 1)
            tokens = sum(len(x) for x in batch) * (2 if name == "finetune" else 1)
            t0 = time.perf_counter()
            if name == "mlm":
                mlm_step(model, opt, ids, cfg, gen)
            else:
                ft_step(model, opt, ids)
            dt = time.perf_counter() - t0
            if i >= args.warmup:
                rates.append(tokens / dt)
        print(f"{name}: median {statistics.median(rates):,.0f} tokens/s over {args.repeats} steps "
              f"(batch {args.batch}, torch {torch.__version__}, {args.threads} threads)")


if __name__ == "__main__":
    main()
