#!/usr/bin/env python3
"""PyTorch + transformers baseline for benches/model.rs (not part of CI).

Same work as the Rust bench: encoder forward at batch 32 x 128 tokens (RobertaModel, eval,
no_grad) and one masked-LM training step (forward, backward, AdamW) for the small and the paper
config with a 50,000-token vocabulary, 15% of the tokens masked. The training step is measured
twice: the usual transformers way (labels, logits at every position) and with the head on the
masked positions only, which is what roberta-model does.

With `--finetune`, contrastive-trainer's fine-tuning step instead (benches/model.rs,
`model_finetune_step`): the default run's `cpu` model (hidden 128, 2 layers, vocabulary 8,000),
16 synthetic pairs of 128 tokens a side in one forward pass, stability BCE on labelled tokens +
pull - push of the stability-weighted, unit-norm embeddings, AdamW (weight decay 0.01) with
per-tensor gradient clipping at norm 1, dropout 0.

Usage: python3 benches/python/model_baseline.py [--threads 2] [--repeats 10] [--device cuda] [--json OUT] [--finetune]
Prints medians in ms and sequences/s (--json also writes them, in seconds, to OUT). With
`--device cuda` the same work runs on the GPU in float32 (TF32 matrix products off, as in
roberta-model's wgpu backend), timed with `torch.cuda.synchronize()` around each repeat.
"""
import argparse
import statistics
import time

import torch
from transformers import RobertaConfig, RobertaForMaskedLM, RobertaModel

BATCH, SEQ, VOCAB, MASK_RATE = 32, 128, 50_000, 0.15


def configs():
    common = dict(vocab_size=VOCAB, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                  type_vocab_size=1, layer_norm_eps=1e-5)
    return [
        ("small", RobertaConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=128, max_position_embeddings=130, **common)),
        ("paper", RobertaConfig(hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                                intermediate_size=1024, max_position_embeddings=770, **common)),
    ]


def batch():
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(5, VOCAB, (BATCH, SEQ), generator=g)
    ids[:, 0] = 0
    ids[:, -1] = 2
    n = int(BATCH * SEQ * MASK_RATE)
    stride = BATCH * SEQ // n
    positions = torch.arange(n) * stride + 1
    flat = ids.reshape(-1).clone()
    labels_at = flat[positions].clone()
    flat[positions] = 4
    return flat.reshape(BATCH, SEQ), positions, labels_at


FT_PAIRS, FT_VOCAB = 16, 8_000


def finetune_config():
    return RobertaConfig(vocab_size=FT_VOCAB, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                         type_vocab_size=1, layer_norm_eps=1e-5, hidden_size=128,
                         num_hidden_layers=2, num_attention_heads=4, intermediate_size=512,
                         max_position_embeddings=258, hidden_dropout_prob=0.0,
                         attention_probs_dropout_prob=0.0, num_labels=1, classifier_dropout=0.0)


def finetune_batch(ids):
    """The Rust bench's pairs: rows of the forward batch folded into the vocabulary; side b
    differs in every 10th token (labelled dynamic); <s> and </s> unlabelled."""
    a = ids[:FT_PAIRS].clone()
    a = torch.where(a < 5, a, 5 + (a - 5) % (FT_VOCAB - 5))
    pos = torch.arange(SEQ)
    changed = (pos % 10 == 5)
    b = a.clone()
    b[:, changed] = 5 + (a[:, changed] + 1) % (FT_VOCAB - 5)
    target = (~changed).float().expand(FT_PAIRS, SEQ).clone()
    weight = torch.ones(FT_PAIRS, SEQ)
    weight[:, 0] = 0
    weight[:, -1] = 0
    return (torch.cat([a, b], 0), torch.cat([target, target], 0), torch.cat([weight, weight], 0))


def finetune(args, device, sync, results):
    from transformers import RobertaForTokenClassification

    g = torch.Generator().manual_seed(1)
    ids = torch.randint(5, VOCAB, (BATCH, SEQ), generator=g)
    ids[:, 0] = 0
    ids[:, -1] = 2
    both, target, weight = (t.to(device) for t in finetune_batch(ids))
    model = RobertaForTokenClassification(finetune_config()).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01)
    attn = torch.ones_like(both)

    def step():
        states = model.roberta(input_ids=both, attention_mask=attn).last_hidden_state
        logits = model.classifier(states).squeeze(-1)
        bce = (torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
               * weight).sum() / weight.sum().clamp_min(1.0)
        p = torch.sigmoid(logits)
        emb = (states * p.unsqueeze(-1)).sum(1)
        emb = emb / emb.norm(dim=1, keepdim=True).clamp_min(1e-12)
        a, b = emb[:FT_PAIRS], emb[FT_PAIRS:]
        pull = ((a - b).square().sum(1) + 1e-12).sqrt().mean()
        push = ((a - b.roll(-1, 0)).square().sum(1) + 1e-12).sqrt().mean()
        loss = bce + pull - push
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for prm in model.parameters():
            if prm.grad is not None:
                n = prm.grad.norm()
                prm.grad.mul_(torch.clamp(1.0 / (n + 1e-38), max=1.0))
        opt.step()

    t = timeit(step, args.repeats, sync=sync)
    tokens = both.numel()
    print(f"finetune_step cpu ({FT_PAIRS} pairs x 2 x {SEQ}): {t * 1e3:.1f} ms median, "
          f"{tokens / t:,.0f} tokens/s")
    results["finetune_step/cpu"] = {"median_s": t, "runs": args.repeats}


def timeit(fn, repeats, warmup=2, sync=lambda: None):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--forward-only", action="store_true", help="skip the training steps")
    ap.add_argument("--configs", default="small,paper", help="comma-separated: small, paper")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--json", help="also write the medians (seconds) as JSON to this file")
    ap.add_argument("--finetune", action="store_true",
                    help="the fine-tuning step of the cpu model instead of forward and MLM")
    args = ap.parse_args()
    results = {}
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize()) if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        print(f"device {torch.cuda.get_device_name(device)}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    ids, positions, labels_at = (t.to(device) for t in batch())
    mask = torch.ones_like(ids)
    wanted = set() if args.finetune else set(args.configs.split(","))
    if args.finetune:
        finetune(args, device, sync, results)
    for name, config in configs():
        if name not in wanted:
            continue
        encoder = RobertaModel(config, add_pooling_layer=False).to(device).eval()

        def fwd():
            with torch.no_grad():
                # Back on the host, as the Rust bench reads its output (a no-op on the CPU).
                encoder(input_ids=ids, attention_mask=mask).last_hidden_state.cpu()

        t = timeit(fwd, args.repeats, sync=sync)
        attn = getattr(encoder.config, "_attn_implementation", "?")
        print(f"forward {name} (attention {attn}): {t * 1e3:.1f} ms median, {BATCH / t:.1f} seq/s")
        results[f"forward/{name}"] = {"median_s": t, "runs": args.repeats}
        if args.forward_only:
            continue

        model = RobertaForMaskedLM(config).to(device).train()
        opt = torch.optim.AdamW(model.parameters(), lr=2e-4)
        labels = torch.full_like(ids, -100).reshape(-1)
        labels[positions] = labels_at
        labels = labels.reshape(BATCH, SEQ)

        def step_all():
            opt.zero_grad(set_to_none=True)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            opt.step()

        t = timeit(step_all, args.repeats, sync=sync)
        print(f"train_step {name} (HF labels, logits everywhere): {t * 1e3:.1f} ms, {BATCH / t:.1f} seq/s")
        results[f"train_step_hf_labels/{name}"] = {"median_s": t, "runs": args.repeats}

        def step_masked():
            opt.zero_grad(set_to_none=True)
            states = model.roberta(input_ids=ids, attention_mask=mask).last_hidden_state
            picked = states.reshape(BATCH * SEQ, -1)[positions]
            logits = model.lm_head(picked)
            loss = torch.nn.functional.cross_entropy(logits, labels_at)
            loss.backward()
            opt.step()

        t = timeit(step_masked, args.repeats, sync=sync)
        print(f"train_step {name} (head on masked positions): {t * 1e3:.1f} ms, {BATCH / t:.1f} seq/s")
        results[f"train_step_masked/{name}"] = {"median_s": t, "runs": args.repeats}
    if args.json:
        import json
        import platform

        import transformers

        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"script": "model_baseline.py", "python": platform.python_version(),
                       "torch": torch.__version__, "transformers": transformers.__version__,
                       "threads": torch.get_num_threads(), "device": args.device, "results": results}, f)


if __name__ == "__main__":
    main()
