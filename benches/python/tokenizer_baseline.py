#!/usr/bin/env python3
"""Python baseline for benches/tokenizer.rs: the Hugging Face `tokenizers`
library doing the same jobs on the same banners (not part of CI).

    pip install tokenizers transformers
    cargo bench --bench tokenizer                      # writes the corpus first
    python3 benches/python/tokenizer_baseline.py       # train + encode timings
    python3 benches/python/tokenizer_baseline.py --compat   # Rust-written files load unchanged

Same corpus (banner-record JSONL, BANNERLM_TOKENIZER_CORPUS, default
target/bench-data/tokenizer-corpus.jsonl, first BANNERLM_TOKENIZER_MB = 50 MB
of banners), same mapping (bytes -> latin-1 text), same pipeline (ByteLevel
pre-tokenizer without prefix space, BPE, min_frequency 2, RoBERTa special
tokens and post-processor, truncation 768, batch padding), same encode
slice (first 5 MiB, batches of 1024 banners).

--compat loads the tokenizer-{vocab}.json files written by the Rust bench
with `tokenizers` and with `transformers`, encodes the same 1,000 HTTP
banners and checks that ids (and offsets) equal those Rust wrote.
"""
import argparse
import base64
import json
import os
import statistics
import time

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
ENCODE_BYTES = 5 << 20
BATCH = 1024
# Medians in seconds per job, for --json.
RESULTS = {}


def corpus_path():
    return os.environ.get(
        "BANNERLM_TOKENIZER_CORPUS",
        os.path.join(ROOT, "target", "bench-data", "tokenizer-corpus.jsonl"),
    )


def load(path, limit):
    """(protocol, banner bytes) pairs, the same records as the Rust bench."""
    out, total = [], 0
    with open(path, "rb") as f:
        for line in f:
            if total >= limit:
                break
            r = json.loads(line)
            if r.get("banner_encoding") == "base64":
                b = base64.b64decode(r["banner"])
            else:
                b = r["banner"].encode("utf-8")
            total += len(b)
            out.append((r["protocol"], b))
    return out


def train(texts, vocab):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        min_frequency=2,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")),
        ("<s>", tok.token_to_id("<s>")),
        trim_offsets=False,
        add_prefix_space=False,
    )
    tok.enable_truncation(768)
    tok.enable_padding(pad_id=tok.token_to_id("<pad>"), pad_token="<pad>")
    tok.encode_special_tokens = True
    return tok


def bench(args):
    limit = int(os.environ.get("BANNERLM_TOKENIZER_MB", "50")) << 20
    records = load(corpus_path(), limit)
    # Text as the Rust side builds it: one character per byte.
    texts = [b.decode("latin-1") for _, b in records]
    total = sum(len(b) for _, b in records)
    print(f"corpus: {len(records)} banners, {total / 1e6:.1f} MB")
    encode_slice, n = [], 0
    for t in texts:
        if n >= ENCODE_BYTES:
            break
        n += len(t)
        encode_slice.append(t)
    http = [b.decode("latin-1") for p, b in records if p in ("http", "https")]
    for vocab in args.vocab:
        times = []
        for _ in range(args.train_runs):
            start = time.perf_counter()
            tok = train(texts, vocab)
            times.append(time.perf_counter() - start)
        med = statistics.median(times)
        print(
            f"train vocab {vocab}: median {med:.2f} s over {len(times)} runs "
            f"({total / med / 1e6:.2f} MB/s); {tok.get_vocab_size()} tokens"
        )
        RESULTS[f"train/{vocab}"] = {"median_s": med, "runs": len(times), "tokens": tok.get_vocab_size()}
        tok.no_truncation()
        tok.no_padding()
        counts = [len(e.ids) - 2 for e in tok.encode_batch(http)]
        print(
            f"  {statistics.mean(counts):.1f} tokens per HTTP banner (without <s> </s>), "
            f"{sum(len(t) for t in http) / sum(counts):.2f} bytes per token"
        )
        tok.enable_truncation(768)
        tok.enable_padding(pad_id=tok.token_to_id("<pad>"), pad_token="<pad>")
        times = []
        for _ in range(args.encode_runs):
            start = time.perf_counter()
            for i in range(0, len(encode_slice), BATCH):
                tok.encode_batch(encode_slice[i : i + BATCH])
            times.append(time.perf_counter() - start)
        med = statistics.median(times)
        print(f"encode_batch vocab {vocab}: median {med * 1e3:.1f} ms for {n / 1e6:.2f} MB ({n / med / 2**20:.2f} MiB/s)")
        RESULTS[f"encode_batch/{vocab}"] = {"median_s": med, "runs": len(times), "bytes": n}
    if args.json:
        import platform
        import tokenizers

        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"script": "tokenizer_baseline.py", "python": platform.python_version(),
                       "tokenizers": tokenizers.__version__, "results": RESULTS}, f)


def compat(args):
    from transformers import PreTrainedTokenizerFast

    limit = int(os.environ.get("BANNERLM_TOKENIZER_MB", "50")) << 20
    records = load(corpus_path(), limit)
    http = [b for p, b in records if p in ("http", "https")][:1000]
    data = os.path.dirname(corpus_path())
    for vocab in args.vocab:
        path = os.path.join(data, f"tokenizer-{vocab}.json")
        with open(os.path.join(data, f"ids-{vocab}.jsonl")) as f:
            want = [json.loads(line) for line in f]
        # tokenizers: the two-liner of docs/FORMATS.md.
        tok = Tokenizer.from_file(path)
        tok.encode_special_tokens = True
        got = [tok.encode(b.decode("latin-1")) for b in http]
        assert len(got) == len(want)
        for g, w, b in zip(got, want, http):
            assert g.ids == w["ids"], (vocab, b[:80])
            assert [list(o) for o in g.offsets] == w["offsets"], (vocab, b[:80])
            untruncated = len(g.ids) < 768
            if untruncated:
                assert tok.decode(g.ids).encode("latin-1") == b
        # transformers, loading the same file unchanged.
        hf = PreTrainedTokenizerFast(
            tokenizer_file=path,
            bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
            model_max_length=768, split_special_tokens=True,
        )
        batch = hf([b.decode("latin-1") for b in http], truncation=True, padding=True)
        for ids, mask, w in zip(batch["input_ids"], batch["attention_mask"], want):
            assert ids[: sum(mask)] == w["ids"]
        print(f"vocab {vocab}: tokenizers and transformers give Rust's ids for {len(want)} HTTP banners")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vocab", type=int, nargs="+", default=[8000, 50000])
    p.add_argument("--train-runs", type=int, default=1)
    p.add_argument("--encode-runs", type=int, default=10)
    p.add_argument("--compat", action="store_true")
    p.add_argument("--json", help="also write the medians as JSON to this file (timing mode)")
    args = p.parse_args()
    compat(args) if args.compat else bench(args)


if __name__ == "__main__":
    main()
