#!/usr/bin/env python3
"""Parity fixture for crates/roberta-model (run by hand, not in CI).

Builds a small randomly initialised RoBERTa with Hugging Face transformers -- the reference
implementation -- and writes, under crates/roberta-model/tests/data/parity/:

  config.json, model.safetensors   RobertaForMaskedLM + a one-label token-classification head
                                   (classifier.*) in one file, HF parameter names
  input_ids.npy                    int64 [3, 12]; row 0 unpadded, rows 1-2 right/left padded
  attention_mask.npy               int64 [3, 12]
  hidden.npy                       float32 [3, 12, H]  last hidden state (RobertaModel)
  mlm_positions.npy                int64 [K, 2]        (row, token) pairs
  mlm_logits.npy                   float32 [K, V]      MLM logits at those positions
  stability_logits.npy             float32 [3, 12]     token-classification logits

Usage: python3 scripts/make_parity_fixture.py [--out DIR]
(torch 2.15.0 and transformers 5.24.0 made the committed fixture.)
"""
import argparse
import os

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import RobertaConfig, RobertaForMaskedLM, RobertaForTokenClassification

SEED = 20231024
VOCAB = 96
PAD = 1


def build(out):
    torch.manual_seed(SEED)
    config = RobertaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=40,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=PAD,
        bos_token_id=0,
        eos_token_id=2,
        hidden_act="gelu",
        num_labels=1,
    )
    mlm = RobertaForMaskedLM(config).eval()
    tok = RobertaForTokenClassification(config).eval()
    # One checkpoint holding both heads on the same encoder.
    tok.roberta.load_state_dict(mlm.roberta.state_dict())
    # Non-trivial LayerNorm/bias values, so that a transposed or swapped tensor cannot pass.
    with torch.no_grad():
        for name, p in list(mlm.named_parameters()) + list(tok.classifier.named_parameters()):
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
        tok.roberta.load_state_dict(mlm.roberta.state_dict())

    seq = 12
    rng = np.random.default_rng(SEED)
    ids = np.full((3, seq), PAD, dtype=np.int64)
    mask = np.zeros((3, seq), dtype=np.int64)
    lengths = [seq, 7, 9]
    for row, n in enumerate(lengths):
        body = rng.integers(3, VOCAB, size=n - 2)
        toks = np.concatenate([[0], body, [2]])
        if row == 2:  # left padding: RoBERTa positions must still start at pad + 1
            ids[row, seq - n:] = toks
            mask[row, seq - n:] = 1
        else:
            ids[row, :n] = toks
            mask[row, :n] = 1

    with torch.no_grad():
        t_ids = torch.from_numpy(ids)
        t_mask = torch.from_numpy(mask)
        out_mlm = mlm(input_ids=t_ids, attention_mask=t_mask, output_hidden_states=True)
        hidden = out_mlm.hidden_states[-1].numpy().astype(np.float32)
        logits = out_mlm.logits.numpy().astype(np.float32)
        stab = tok(input_ids=t_ids, attention_mask=t_mask).logits[..., 0].numpy().astype(np.float32)

    positions = np.array([[0, 1], [0, 5], [0, 11], [1, 3], [1, 6], [2, 4], [2, 8]], dtype=np.int64)
    mlm_logits = logits[positions[:, 0], positions[:, 1]]

    os.makedirs(out, exist_ok=True)
    config.architectures = ["RobertaForMaskedLM"]
    config.to_json_file(os.path.join(out, "config.json"))
    state = {k: v.contiguous() for k, v in mlm.state_dict().items()}
    # The decoder weight is tied to the word embeddings; keep one copy, as save_pretrained does.
    state.pop("lm_head.decoder.weight", None)
    state.pop("lm_head.decoder.bias", None)
    state.pop("roberta.embeddings.position_ids", None)
    for k, v in tok.classifier.state_dict().items():
        state["classifier." + k] = v.contiguous()
    save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    np.save(os.path.join(out, "input_ids.npy"), ids)
    np.save(os.path.join(out, "attention_mask.npy"), mask)
    np.save(os.path.join(out, "hidden.npy"), hidden)
    np.save(os.path.join(out, "mlm_positions.npy"), positions)
    np.save(os.path.join(out, "mlm_logits.npy"), mlm_logits)
    np.save(os.path.join(out, "stability_logits.npy"), stab)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"wrote {out} ({total} bytes); torch {torch.__version__}")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "crates", "roberta-model", "tests", "data", "parity")
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=default)
    args = ap.parse_args()
    build(os.path.normpath(args.out))
