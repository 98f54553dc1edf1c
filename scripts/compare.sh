#!/usr/bin/env bash
# Every peer comparison of docs/PERFORMANCE.md, back to back on this machine, in one table
# of ratios (issue 23).
#
#   scripts/compare.sh                       # all rows
#   scripts/compare.sh --only forward        # one row (repeatable: --only labels --only lcs)
#   scripts/compare.sh --list                # the rows
#   scripts/compare.sh --quick               # fewer samples: a smoke run, not a figure to quote
#   scripts/compare.sh --out docs/compare.md # the table as Markdown (+ compare.json beside it)
#
# Each row runs bannerlm's criterion bench (release binary built once at the start, run
# directly with a filter; the median is read from the criterion estimates.json) and then the
# peer script (benches/python/*.py in a venv this script creates, or benches/ruby/*.rb), with
# the same environment for both sides: RAYON_NUM_THREADS = OMP/MKL/OPENBLAS_NUM_THREADS =
# torch threads = --threads (default: the machine's cores), the allocator settings of
# --malloc (default: whatever GLIBC_TUNABLES/MIMALLOC_*/LD_PRELOAD the caller set, printed).
# A peer that is missing (no python3, a package that does not install, no ruby, no recog gem,
# RECOG_XML_DIR unset) skips its row with a message; the other rows still run.
#
# Needs: bash, awk, sed, cargo. Python rows: python3 with venv + PyPI (pinned versions from
# scripts/compare-requirements.txt, installed once into target/compare-venv). Recog row: ruby,
# the recog gem (or RECOG_RUBY_LIB=path/to/recog/lib) and RECOG_XML_DIR.
set -uo pipefail

CALLER_DIR=$PWD
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2

ROWS=(labels lcs hdbscan bpe forward mlm finetune embed recog)
declare -A DESC=(
  [labels]="label_pair on the 56 fixture pairs vs Python difflib (labels_baseline.py)"
  [lcs]="fingerprint pattern of 220 groups of 10 values (Method::Lcs) vs the Python difflib fold (lcs_baseline.py)"
  [hdbscan]="HDBSCAN fit, 20,000 x 64 blobs, min_cluster_size 50, min_samples 5 vs scikit-learn and Python hdbscan (cluster_bench.py)"
  [bpe]="BPE training (vocab 8,000 and 50,000) and encode_batch of 5 MiB vs Python tokenizers (tokenizer_baseline.py)"
  [forward]="encoder forward, batch 32 x 128, small and paper config vs PyTorch + transformers (model_baseline.py)"
  [mlm]="masked-LM training step (forward, backward, AdamW), 32 x 128, head on masked positions vs PyTorch (model_baseline.py)"
  [finetune]="fine-tuning step of the cpu model, 16 pairs x 2 x 128 (one forward over both sides, BCE + pull/push, AdamW with clipping) vs PyTorch (model_baseline.py --finetune)"
  [embed]="embed 512 banners at batch 64, cpu and paper model, tokenizer included vs PyTorch + transformers (embed_baseline.py)"
  [recog]="Recog http_servers.xml best match over its 744 example banners vs Ruby Recog::Nizer.match (recog_nizer_bench.rb)"
)
declare -A BENCH_OF=([labels]=labels [lcs]=lcs [hdbscan]=cluster [bpe]=tokenizer [forward]=model
  [mlm]=model [finetune]=model [embed]=embed [recog]=recog)

usage() {
  cat <<EOF
usage: scripts/compare.sh [--only NAME]... [--list] [--quick] [--threads N]
                          [--malloc inherit|default|keep|TUNABLES] [--out FILE.md] [--help]

Runs bannerlm's criterion benches and their peers (Python difflib, tokenizers, scikit-learn,
hdbscan, PyTorch + transformers, Ruby Recog) back to back and prints one table of ratios
(peer time / bannerlm time: above 1, bannerlm is faster), with the machine, the versions of
both sides and the environment both sides ran under.

  --only NAME    run this row only (repeatable, or comma-separated); see --list
  --list         list the rows and exit
  --quick        fewer samples and repeats, 10 MB tokenizer corpus: a smoke test, not a figure
  --threads N    RAYON_NUM_THREADS, OMP/MKL/OPENBLAS_NUM_THREADS and torch threads
                 (default: $(nproc 2>/dev/null || echo 1), the cores of this machine)
  --malloc M     allocator settings for both sides: inherit (default: keep GLIBC_TUNABLES etc.
                 as set by the caller), default (unset GLIBC_TUNABLES: glibc's defaults),
                 keep (the memory-keeping GLIBC_TUNABLES quoted in docs/PERFORMANCE.md), or a
                 GLIBC_TUNABLES string
  --out FILE     also write the table as Markdown to FILE and as JSON beside it (FILE minus
                 .md, plus .json)
  --setup-only   create or check the Python venv, print the versions, run nothing
  --no-build     do not run cargo; use the bench binaries that earlier runs built
  -h, --help     this text

Environment: RECOG_XML_DIR (Recog's XML databases; the recog row is skipped without it),
RECOG_RUBY_LIB (recog's lib/ when the gem is not installed), COMPARE_PYTHON (the python3
that creates the venv), COMPARE_VENV (default target/compare-venv).
EOF
}

ONLY=()
QUICK=0
THREADS=$(nproc 2>/dev/null || echo 1)
MALLOC=inherit
OUT=""
SETUP_ONLY=0
NO_BUILD=0
ARGS_SEEN="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --only) [ $# -ge 2 ] || { echo "--only needs a row name" >&2; exit 2; }
      IFS=, read -r -a more <<<"$2"; ONLY+=("${more[@]}"); shift 2 ;;
    --only=*) IFS=, read -r -a more <<<"${1#--only=}"; ONLY+=("${more[@]}"); shift ;;
    --list)
      for r in "${ROWS[@]}"; do printf '%-9s %s\n' "$r" "${DESC[$r]}"; done; exit 0 ;;
    --quick) QUICK=1; shift ;;
    --threads) [ $# -ge 2 ] || { echo "--threads needs a number" >&2; exit 2; }
      THREADS=$2; shift 2 ;;
    --threads=*) THREADS=${1#--threads=}; shift ;;
    --malloc) [ $# -ge 2 ] || { echo "--malloc needs a value" >&2; exit 2; }
      MALLOC=$2; shift 2 ;;
    --malloc=*) MALLOC=${1#--malloc=}; shift ;;
    --out) [ $# -ge 2 ] || { echo "--out needs a file" >&2; exit 2; }
      OUT=$2; shift 2 ;;
    --out=*) OUT=${1#--out=}; shift ;;
    --setup-only) SETUP_ONLY=1; shift ;;
    --no-build) NO_BUILD=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
# --out is relative to where the script was called from.
case "$OUT" in ''|/*) ;; *) OUT=$CALLER_DIR/$OUT ;; esac
case "$THREADS" in ''|*[!0-9]*|0) echo "--threads wants a positive integer, got '$THREADS'" >&2; exit 2 ;; esac
for r in "${ONLY[@]}"; do
  [ -n "${DESC[$r]+x}" ] || { echo "unknown row '$r'; rows: ${ROWS[*]}" >&2; exit 2; }
done
SELECTED=()
for r in "${ROWS[@]}"; do
  if [ ${#ONLY[@]} -eq 0 ] || printf '%s\n' "${ONLY[@]}" | grep -qx "$r"; then SELECTED+=("$r"); fi
done

# ---------------------------------------------------------------------------------------
# Environment shared by both sides of every row.
KEEP_TUNABLES="glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296:glibc.malloc.top_pad=67108864"
case "$MALLOC" in
  inherit) ;;
  default) unset GLIBC_TUNABLES ;;
  keep) export GLIBC_TUNABLES=$KEEP_TUNABLES ;;
  glibc.*) export GLIBC_TUNABLES=$MALLOC ;;
  *) echo "--malloc: inherit, default, keep or a GLIBC_TUNABLES string (glibc.malloc.*), got '$MALLOC'" >&2; exit 2 ;;
esac
export RAYON_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS \
  OPENBLAS_NUM_THREADS=$THREADS
WORK=$ROOT/target/compare
export CRITERION_HOME=$WORK/criterion
mkdir -p "$WORK/logs"
# One run at a time: a second run would spoil the first one's timings, remove its criterion
# results or the venv it is building. It waits for the lock.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$WORK/run.lock"
  if ! flock -n 9; then
    printf '[compare] another scripts/compare.sh is running; waiting for it\n' >&2
    flock 9
  fi
fi
rm -rf "$CRITERION_HOME"
if [ "$QUICK" = 1 ]; then TOKENIZER_MB=10; else TOKENIZER_MB=50; fi
# The tokenizer corpus of this size (the bench writes it when missing; both sides read it).
export BANNERLM_TOKENIZER_MB=$TOKENIZER_MB
export BANNERLM_TOKENIZER_CORPUS=$WORK/tokenizer-corpus-${TOKENIZER_MB}mb.jsonl
export BANNERLM_TOKENIZER_TRAIN_RUNS=1
export LCS_BENCH_GROUPS=$WORK/lcs-groups.jsonl
export EMBED_BENCH_DIR=$WORK/embed-bench

note() { printf '[compare] %s\n' "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?"; }

# Variables that change how either side runs; printed with the table.
env_lines() {
  local v
  for v in RAYON_NUM_THREADS OMP_NUM_THREADS MKL_NUM_THREADS OPENBLAS_NUM_THREADS GLIBC_TUNABLES \
    MALLOC_ARENA_MAX LD_PRELOAD BANNERLM_DEVICE BANNERLM_TOKENIZER_MB TOKENIZERS_PARALLELISM; do
    if [ -n "${!v+x}" ]; then printf '%s=%s\n' "$v" "${!v}"; fi
  done
  env | grep -E '^(MIMALLOC_|MALLOC_)' | grep -v '^MALLOC_ARENA_MAX=' | sort
  [ -n "${GLIBC_TUNABLES+x}" ] || echo "GLIBC_TUNABLES unset (glibc malloc defaults)"
  echo "torch threads=$THREADS (--threads of the Python scripts)"
}

# ---------------------------------------------------------------------------------------
# Python peers: a venv under target/ with the pinned versions, reused while the
# requirements file is unchanged.
REQ=$ROOT/scripts/compare-requirements.txt
VENV=${COMPARE_VENV:-$ROOT/target/compare-venv}
PY=""
PY_PROBLEM=""
setup_venv() {
  local sys_py=${COMPARE_PYTHON:-python3} want have
  if ! command -v "$sys_py" >/dev/null 2>&1; then
    PY_PROBLEM="no $sys_py on PATH"; return
  fi
  want=$(sha256sum "$REQ" | cut -d' ' -f1)
  have=$(cat "$VENV/.requirements-sha256" 2>/dev/null || true)
  if [ -x "$VENV/bin/python" ] && [ "$want" = "$have" ]; then
    PY=$VENV/bin/python; return
  fi
  note "creating $VENV with the versions of ${REQ#"$ROOT"/} (first run: a few GB of wheels, minutes)"
  rm -rf "$VENV"
  if ! "$sys_py" -m venv "$VENV" >"$WORK/logs/venv.log" 2>&1; then
    PY_PROBLEM="'$sys_py -m venv' failed (see target/compare/logs/venv.log; Debian: apt install python3-venv)"
    # The rows that need only the standard library (difflib) still run.
    PY=$(command -v "$sys_py")
    return
  fi
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQ" \
    >>"$WORK/logs/venv.log" 2>&1; then
    PY_PROBLEM="pip could not install ${REQ#"$ROOT"/} (see target/compare/logs/venv.log)"
    # Keep what did install: rows whose packages are there still run.
    PY=$VENV/bin/python
    return
  fi
  echo "$want" >"$VENV/.requirements-sha256"
  PY=$VENV/bin/python
}

# The version of each pinned package in the venv ("name version" lines).
py_versions() {
  [ -n "$PY" ] || return 0
  "$PY" - <<'EOF' 2>/dev/null
import importlib.metadata as m, platform
print("python", platform.python_version())
for p in ["torch", "transformers", "tokenizers", "numpy", "scikit-learn", "hdbscan"]:
    try:
        print(p, m.version(p))
    except m.PackageNotFoundError:
        print(p, "missing")
EOF
}

# py_missing MODULE...: prints the first module that does not import, or nothing.
py_missing() {
  local mod
  for mod in "$@"; do
    "$PY" -c "import $mod" >/dev/null 2>&1 || { echo "$mod"; return; }
  done
}

# py_result FILE KEY [FIELD]: a number from a peer script's --json output.
py_result() {
  "$PY" - "$1" "$2" "${3:-median_s}" <<'EOF' 2>/dev/null
import json, sys
print(json.load(open(sys.argv[1]))["results"][sys.argv[2]][sys.argv[3]])
EOF
}

# ---------------------------------------------------------------------------------------
# Ruby peer.
RECOG_LIB=${RECOG_RUBY_LIB:-}
ruby_cmd() {
  if [ -n "$RECOG_LIB" ]; then ruby -I "$RECOG_LIB" "$@"; else ruby "$@"; fi
}
ruby_versions() {
  command -v ruby >/dev/null 2>&1 || return 0
  echo "ruby $(ruby -e 'print RUBY_VERSION' 2>/dev/null)"
  local v
  v=$(ruby_cmd -e 'require "recog"; print Recog::VERSION' 2>/dev/null) && echo "recog $v${RECOG_LIB:+ (from RECOG_RUBY_LIB)}"
}

# ---------------------------------------------------------------------------------------
# Results: one line per comparison, fields separated by tabs.
# row, what, rust_s, peer name, peer_s, load before, load after, rust binary, note
RESULTS=()
SKIPS=()
add_result() {
  if [ -z "$3" ] || [ -z "$5" ]; then
    local side=peer
    [ -n "$3" ] || side=bannerlm
    skip_row "$1" "$2: no $side median found (see target/compare/logs/$1.*.log)"
    return
  fi
  RESULTS+=("$(printf '%s\t' "$@")")
}
skip_row() { SKIPS+=("$1	$2"); note "$1: skipped: $2"; }

# criterion_median FULL_ID: seconds per iteration from the last run's estimates.json.
criterion_median() {
  local meta est ns
  meta=$(grep -lF "\"full_id\":\"$1\"" $(find "$CRITERION_HOME" -path '*/new/benchmark.json' 2>/dev/null) /dev/null 2>/dev/null | head -1)
  [ -n "$meta" ] || return 1
  est=$(dirname "$meta")/estimates.json
  ns=$(sed -E 's/.*"median":\{"confidence_interval":\{[^}]*\},"point_estimate":([-0-9.eE+]+).*/\1/' "$est")
  case "$ns" in ''|*[!-0-9.eE+]*) return 1 ;; esac
  awk -v n="$ns" 'BEGIN { printf "%.9g\n", n / 1e9 }'
}

# Criterion's own options for a run; --quick shortens the groups that do not fix their own.
criterion_args() {
  if [ "$QUICK" = 1 ]; then echo "--noplot --warm-up-time 1 --measurement-time 2"; else echo "--noplot"; fi
}

# run_bench ROW BENCH FILTER: runs the bench binary with the filter (stdout+stderr to a log).
run_bench() {
  local row=$1 bench=$2 filter=$3 bin=${BIN[$2]:-}
  if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    skip_row "$row" "no $bench bench binary (build failed? see target/compare/logs/build.log)"
    return 1
  fi
  note "$row: $bin --bench $filter"
  # shellcheck disable=SC2046
  if ! "$bin" --bench $(criterion_args) "$filter" >"$WORK/logs/$row.rust.log" 2>&1; then
    skip_row "$row" "bench $bench failed (see target/compare/logs/$row.rust.log)"
    return 1
  fi
}

# run_peer ROW CMD...: runs a peer command, output to a log.
run_peer() {
  local row=$1; shift
  note "$row: $*"
  if ! "$@" >"$WORK/logs/$row.peer.log" 2>&1; then
    skip_row "$row" "peer failed: $* (see target/compare/logs/$row.peer.log)"
    return 1
  fi
}

need_python() { # need_python ROW MODULE...
  local row=$1; shift
  if [ -z "$PY" ]; then skip_row "$row" "no Python peer: $PY_PROBLEM"; return 1; fi
  local m
  m=$(py_missing "$@")
  if [ -n "$m" ]; then skip_row "$row" "Python package '$m' missing from $VENV${PY_PROBLEM:+ ($PY_PROBLEM)}"; return 1; fi
}

rel() { echo "${1#"$ROOT"/}"; }

# ---------------------------------------------------------------------------------------
# Rows. Each sets LB (load before) itself; the load after is read when it adds results.
row_labels() {
  need_python labels difflib || return
  local lb; lb=$(load1)
  run_bench labels labels '^label_pair/all_fixture_pairs$' || return
  run_peer labels "$PY" benches/python/labels_baseline.py --json "$WORK/labels.json" || return
  local r p; r=$(criterion_median label_pair/all_fixture_pairs) p=$(py_result "$WORK/labels.json" all_fixture_pairs)
  add_result labels "label_pair, 56 fixture pairs" "$r" "Python difflib (median of 7 one-second runs)" "$p" "$lb" "$(load1)" "$(rel "${BIN[labels]}")" "both single-threaded"
}

row_lcs() {
  need_python lcs difflib || return
  local lb; lb=$(load1)
  run_bench lcs lcs '^groups_of_10/lcs$' || return
  local reps=7; [ "$QUICK" = 1 ] && reps=3
  run_peer lcs "$PY" benches/python/lcs_baseline.py "$LCS_BENCH_GROUPS" --repeat "$reps" --json "$WORK/lcs.json" || return
  local r p; r=$(criterion_median groups_of_10/lcs) p=$(py_result "$WORK/lcs.json" groups_of_10)
  add_result lcs "fingerprint patterns, 220 groups of 10 (Method::Lcs)" "$r" "Python difflib fold (median of $reps passes)" "$p" "$lb" "$(load1)" "$(rel "${BIN[lcs]}")" "both single-threaded"
}

row_hdbscan() {
  need_python hdbscan numpy || return
  local tools=() have_sk have_hd
  have_sk=$(py_missing sklearn) have_hd=$(py_missing hdbscan)
  [ -z "$have_sk" ] && tools+=(sklearn)
  [ -z "$have_hd" ] && tools+=(hdbscan)
  if [ ${#tools[@]} -eq 0 ]; then skip_row hdbscan "neither scikit-learn nor hdbscan imports in $VENV"; return; fi
  local ex=${BIN[example-cluster]:-} npy=$WORK/blobs-20000.npy
  if [ -z "$ex" ] || [ ! -x "$ex" ]; then skip_row hdbscan "no cluster example binary (see target/compare/logs/build.log)"; return; fi
  # The bench's points, written anew by this build (the example stops on --min-cluster-size 0
  # after writing them: an error exit by design).
  rm -f "$npy"
  "$ex" --synthetic 20000 --save-input "$npy" --min-cluster-size 0 >"$WORK/logs/hdbscan.npy.log" 2>&1 || true
  [ -s "$npy" ] || { skip_row hdbscan "could not write $npy (see target/compare/logs/hdbscan.npy.log)"; return; }
  local lb; lb=$(load1)
  run_bench hdbscan cluster '^cluster/fit/density-cluster/20000$' || return
  local joined; joined=$(IFS=,; echo "${tools[*]}")
  run_peer hdbscan "$PY" benches/python/cluster_bench.py "$npy" --tools "$joined" --json "$WORK/hdbscan.json" || return
  local r la; r=$(criterion_median cluster/fit/density-cluster/20000) la=$(load1)
  local t p cpu
  for t in "${tools[@]}"; do
    p=$(py_result "$WORK/hdbscan.json" "$t") cpu=$(py_result "$WORK/hdbscan.json" "$t" cpu_s)
    local name="scikit-learn HDBSCAN"; [ "$t" = hdbscan ] && name="Python hdbscan"
    add_result hdbscan "HDBSCAN fit, 20,000 x 64" "$r" "$name (one fit, wall; CPU $(fmt_s "$cpu"))" "$p" "$lb" "$la" "$(rel "${BIN[cluster]}")" "bannerlm on $THREADS rayon threads, the Python tools on one core"
  done
  [ -z "$have_sk" ] || skip_row hdbscan "scikit-learn part: sklearn does not import"
  [ -z "$have_hd" ] || skip_row hdbscan "Python hdbscan part: hdbscan does not import"
}

row_bpe() {
  need_python bpe tokenizers || return
  local lb; lb=$(load1)
  run_bench bpe tokenizer '^encode_batch/' || return
  local runs=3; [ "$QUICK" = 1 ] && runs=1
  run_peer bpe "$PY" benches/python/tokenizer_baseline.py --train-runs 1 --encode-runs "$runs" --json "$WORK/bpe.json" || return
  local la v r p; la=$(load1)
  for v in 8000 50000; do
    r=$(sed -nE "s|^train/bpe_vocab/$v: median ([0-9.]+) s.*|\1|p" "$WORK/logs/bpe.rust.log" | head -1)
    p=$(py_result "$WORK/bpe.json" "train/$v")
    add_result bpe "BPE training, vocab $v, ${TOKENIZER_MB} MiB corpus" "$r" "Python tokenizers (1 run)" "$p" "$lb" "$la" "$(rel "${BIN[tokenizer]}")" "one timed run each side (not criterion)"
  done
  for v in 8000 50000; do
    r=$(criterion_median "encode_batch/bpe_vocab/$v") p=$(py_result "$WORK/bpe.json" "encode_batch/$v")
    add_result bpe "encode_batch 5 MiB, vocab $v" "$r" "Python tokenizers (median of $runs)" "$p" "$lb" "$la" "$(rel "${BIN[tokenizer]}")" ""
  done
}

row_forward() {
  need_python forward torch transformers || return
  local lb; lb=$(load1)
  run_bench forward model '^model_forward/' || return
  local reps=10; [ "$QUICK" = 1 ] && reps=3
  run_peer forward "$PY" benches/python/model_baseline.py --threads "$THREADS" --repeats "$reps" --forward-only --configs small,paper --json "$WORK/forward.json" || return
  local la c; la=$(load1)
  for c in small paper; do
    add_result forward "forward, $c config, 32 x 128" "$(criterion_median "model_forward/$c/32x128")" "PyTorch + transformers (median of $reps)" "$(py_result "$WORK/forward.json" "forward/$c")" "$lb" "$la" "$(rel "${BIN[model]}")" ""
  done
}

row_mlm() {
  need_python mlm torch transformers || return
  local lb; lb=$(load1)
  run_bench mlm model '^model_mlm_train_step/' || return
  local reps=5; [ "$QUICK" = 1 ] && reps=2
  run_peer mlm "$PY" benches/python/model_baseline.py --threads "$THREADS" --repeats "$reps" --configs small,paper --json "$WORK/mlm.json" || return
  local la c; la=$(load1)
  for c in small paper; do
    add_result mlm "MLM train step, $c config, 32 x 128" "$(criterion_median "model_mlm_train_step/$c/32x128")" "PyTorch, head on masked positions (median of $reps)" "$(py_result "$WORK/mlm.json" "train_step_masked/$c")" "$lb" "$la" "$(rel "${BIN[model]}")" ""
  done
}

row_finetune() {
  need_python finetune torch transformers || return
  local lb; lb=$(load1)
  run_bench finetune model '^model_finetune_step/' || return
  local reps=10; [ "$QUICK" = 1 ] && reps=3
  run_peer finetune "$PY" benches/python/model_baseline.py --threads "$THREADS" --repeats "$reps" --finetune --json "$WORK/finetune.json" || return
  local la; la=$(load1)
  add_result finetune "fine-tuning step, cpu model, 16 pairs x 2 x 128" "$(criterion_median "model_finetune_step/cpu/16x2x128")" "PyTorch + transformers (median of $reps)" "$(py_result "$WORK/finetune.json" "finetune_step/cpu")" "$lb" "$la" "$(rel "${BIN[model]}")" ""
}

row_embed() {
  need_python embed torch transformers tokenizers || return
  local lb; lb=$(load1)
  export EMBED_BENCH_ONLY=embed
  run_bench embed embed '^embed_banners/' || { unset EMBED_BENCH_ONLY; return; }
  unset EMBED_BENCH_ONLY
  local reps=5; [ "$QUICK" = 1 ] && reps=2
  run_peer embed "$PY" benches/python/embed_baseline.py --threads "$THREADS" --repeats "$reps" --only embed --dir "$EMBED_BENCH_DIR" --json "$WORK/embed.json" || return
  local la c; la=$(load1)
  for c in cpu paper; do
    add_result embed "embed 512 banners, batch 64, $c model" "$(criterion_median "embed_banners/$c/512")" "PyTorch + transformers (median of $reps)" "$(py_result "$WORK/embed.json" "embed/$c")" "$lb" "$la" "$(rel "${BIN[embed]}")" ""
  done
}

row_recog() {
  if [ -z "${RECOG_XML_DIR:-}" ]; then skip_row recog "RECOG_XML_DIR is not set (Recog's XML databases: RECOG_XML_DIR=<recog checkout>/xml)"; return; fi
  if [ ! -f "$RECOG_XML_DIR/http_servers.xml" ]; then skip_row recog "no http_servers.xml in RECOG_XML_DIR=$RECOG_XML_DIR"; return; fi
  if ! command -v ruby >/dev/null 2>&1; then skip_row recog "no ruby on PATH (Debian: apt install ruby ruby-nokogiri)"; return; fi
  if ! ruby_cmd -e 'require "recog"' >/dev/null 2>&1; then skip_row recog "the recog gem does not load (gem install recog, or RECOG_RUBY_LIB=<recog checkout>/lib)"; return; fi
  local lb; lb=$(load1)
  export RECOG_XML_DIR
  run_bench recog recog '^recog_http_servers/best_match/examples/' || return
  local rounds=10; [ "$QUICK" = 1 ] && rounds=3
  run_peer recog ruby_cmd benches/ruby/recog_nizer_bench.rb "$RECOG_XML_DIR/http_servers.xml" "$rounds" || return
  local la p n; la=$(load1)
  p=$(sed -nE 's/.* median_s=([0-9.]+) .*/\1/p' "$WORK/logs/recog.peer.log" | tail -1)
  n=$(sed -nE 's/.* banners=([0-9]+) .*/\1/p' "$WORK/logs/recog.peer.log" | tail -1)
  local v
  for v in literal_prefilter no_prefilter; do
    add_result recog "Recog best match, ${n:-?} banners, $v" "$(criterion_median "recog_http_servers/best_match/examples/$v")" "Ruby Recog::Nizer.match (median of $rounds)" "$p" "$lb" "$la" "$(rel "${BIN[recog]}")" ""
  done
}

# ---------------------------------------------------------------------------------------
# Formatting.
fmt_s() { # seconds -> "12.3 ms"
  awk -v s="$1" 'BEGIN {
    if (s == "" || s !~ /^[-0-9.eE+]+$/) { print "?"; exit }
    if (s < 1e-3) printf "%.1f µs\n", s * 1e6
    else if (s < 1) printf "%.2f ms\n", s * 1e3
    else printf "%.3f s\n", s }'
}
ratio_of() { # peer_s rust_s -> ratio (peer / bannerlm)
  awk -v p="$1" -v r="$2" 'BEGIN { if (p !~ /^[0-9.eE+-]+$/ || r !~ /^[0-9.eE+-]+$/ || r <= 0) print ""; else printf "%.4g\n", p / r }'
}
verdict() { # ratio -> words
  awk -v x="$1" 'BEGIN {
    if (x == "") { print "?"; exit }
    if (x >= 1) printf "bannerlm %.2fx faster\n", x; else printf "bannerlm %.2fx slower\n", 1 / x }'
}
json_str() { # JSON string literal
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\t'/ }; s=${s//$'\n'/\\n}
  printf '"%s"' "$s"
}
json_num() { case "$1" in ''|*[!-0-9.eE+]*) printf 'null' ;; *) printf '%s' "$1" ;; esac; }

# ---------------------------------------------------------------------------------------
# Machine and versions.
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
CORES=$(nproc 2>/dev/null || echo "?")
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
FLAGS=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | grep -ow 'avx512f\|avx2' | sort -u | paste -sd' ' -)
RUSTC=$(rustc -V 2>/dev/null || echo "rustc ?")
COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || echo "?")
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then COMMIT="$COMMIT + uncommitted changes"; fi
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
# The Rust libraries that do the work, as locked.
LOCKED=$(awk '/^name = / { n = $3 } /^version = / { gsub(/"/, "", n); v = $3; gsub(/"/, "", v)
  if (n == "burn" || n == "burn-flex" || n == "tokenizers" || n == "gemm" || n == "regex" || n == "criterion") print n " " v }' \
  Cargo.lock 2>/dev/null | sort -u | paste -sd',' - | sed 's/,/, /g')

setup_venv
[ -n "$PY_PROBLEM" ] && note "Python peers: $PY_PROBLEM"
PYV=$(py_versions)
RBV=$(ruby_versions)
if [ "$SETUP_ONLY" = 1 ]; then
  echo "venv: $VENV"; [ -n "$PY_PROBLEM" ] && echo "problem: $PY_PROBLEM"
  echo "${PYV:-no Python peers}"; echo "${RBV:-no ruby}"
  [ -z "$PY_PROBLEM" ]; exit
fi

# ---------------------------------------------------------------------------------------
# Build the release benches once, before any timing.
declare -A BIN=()
benches=() want_cluster_example=0
for r in "${SELECTED[@]}"; do
  b=${BENCH_OF[$r]:-}
  [ -n "$b" ] || continue
  printf '%s\n' "${benches[@]}" | grep -qx "$b" || benches+=("$b")
  [ "$r" = hdbscan ] && want_cluster_example=1
done
if [ ${#benches[@]} -gt 0 ]; then
  cargo_args=()
  for b in "${benches[@]}"; do cargo_args+=(--bench "$b"); done
  if [ "$NO_BUILD" = 1 ]; then
    note "--no-build: the binaries of earlier builds (target/compare/bins.tsv)"
  else
    note "building: cargo bench --no-run ${cargo_args[*]}"
    : >"$WORK/logs/build.log"
    cargo bench --no-run --message-format=json-render-diagnostics "${cargo_args[@]}" \
      >"$WORK/build.json" 2>>"$WORK/logs/build.log" || note "cargo bench --no-run failed (target/compare/logs/build.log)"
  fi
  if [ "$want_cluster_example" = 1 ] && [ "$NO_BUILD" = 0 ]; then
    note "building: cargo build --release --example cluster"
    cargo build --release --example cluster --message-format=json-render-diagnostics \
      >>"$WORK/build.json" 2>>"$WORK/logs/build.log" || note "cargo build --example cluster failed"
  fi
  # Binaries of earlier builds (bins.tsv), then those of this build over them.
  while IFS=$'\t' read -r name exe; do
    [ -n "$name" ] && BIN[$name]=$exe
  done < <(cat "$WORK/bins.tsv" 2>/dev/null)
  if [ "$NO_BUILD" = 0 ]; then
    while IFS=$'\t' read -r kind name exe; do
      if [ "$kind" = bench ]; then BIN[$name]=$exe; else BIN[example-$name]=$exe; fi
    done < <(grep -s '"reason":"compiler-artifact"' "$WORK/build.json" | grep '"executable":"/' |
      sed -nE 's/.*"target":\{"kind":\["(bench|example)"\][^}]*"name":"([^"]+)".*"executable":"([^"]+)".*/\1\t\2\t\3/p')
    for name in "${!BIN[@]}"; do printf '%s\t%s\n' "$name" "${BIN[$name]}"; done | sort >"$WORK/bins.tsv"
  fi
fi

# ---------------------------------------------------------------------------------------
START=$(date +%s)
LOAD_START=$(load1)
for r in "${SELECTED[@]}"; do
  note "--- $r (load $(load1))"
  "row_$r"
done
ELAPSED=$(( $(date +%s) - START ))
LOAD_END=$(load1)

# ---------------------------------------------------------------------------------------
# The table.
MD=$(
  echo "### Peer comparisons, $DATE"
  echo
  echo "Machine: $CPU ($CORES cores${FLAGS:+, $FLAGS}), $MEM RAM, $(uname -sr); 1-minute load average $LOAD_START at the start, $LOAD_END at the end. Total run time ${ELAPSED} s$([ "$QUICK" = 1 ] && echo ', --quick (smoke run: not a figure to quote)')."
  echo "Command: \`scripts/compare.sh${ARGS_SEEN:+ $ARGS_SEEN}\`"
  echo
  echo "bannerlm: commit $COMMIT, $RUSTC${LOCKED:+ ($LOCKED)}; criterion medians (seconds per iteration) from the bench binaries named in each row."
  peers=$(printf '%s\n%s\n' "$PYV" "$RBV" | grep -v '^$' | paste -sd',' - | sed 's/,/, /g')
  echo "Peers: ${peers:-none found}."
  echo "Environment of both sides: $(env_lines | tr '\n' ';' | sed 's/;$//; s/;/; /g')."
  echo
  echo "| row | work | bannerlm | peer | peer time | ratio (peer / bannerlm) | load before -> after | bannerlm binary |"
  echo "|---|---|---|---|---|---|---|---|"
  [ ${#RESULTS[@]} -gt 0 ] || echo "| (none) | no row ran to the end | | | | | | |"
  for line in "${RESULTS[@]}"; do
    IFS=$'\t' read -r row what rs peer ps lb la bin rnote <<<"$line"
    ratio=$(ratio_of "$ps" "$rs")
    echo "| $row | $what${rnote:+ ($rnote)} | $(fmt_s "$rs") | $peer | $(fmt_s "$ps") | **$(verdict "$ratio")** (${ratio:-?}) | $lb -> $la | \`$bin\` |"
  done
  if [ ${#SKIPS[@]} -gt 0 ]; then
    echo
    echo "Skipped:"
    for s in "${SKIPS[@]}"; do echo "- ${s%%	*}: ${s#*	}"; done
  fi
)
echo
echo "$MD"

if [ -n "$OUT" ]; then
  mkdir -p "$(dirname "$OUT")"
  echo "$MD" >"$OUT"
  JSON=${OUT%.md}.json
  {
    printf '{"date":%s,"command":%s,"quick":%s,"elapsed_s":%s,\n' "$(json_str "$DATE")" \
      "$(json_str "scripts/compare.sh $ARGS_SEEN")" "$([ "$QUICK" = 1 ] && echo true || echo false)" "$ELAPSED"
    printf ' "machine":{"cpu":%s,"cores":%s,"memory":%s,"kernel":%s,"load_start":%s,"load_end":%s},\n' \
      "$(json_str "$CPU")" "$(json_num "$CORES")" "$(json_str "$MEM")" "$(json_str "$(uname -sr)")" \
      "$(json_num "$LOAD_START")" "$(json_num "$LOAD_END")"
    printf ' "bannerlm":{"commit":%s,"rustc":%s,"locked":%s},\n' "$(json_str "$COMMIT")" "$(json_str "$RUSTC")" \
      "$(json_str "$LOCKED")"
    printf ' "peers":{'
    first=1
    while read -r k v; do
      [ -n "$k" ] || continue
      [ $first = 1 ] || printf ','; first=0
      printf '%s:%s' "$(json_str "$k")" "$(json_str "$v")"
    done <<<"$PYV
$RBV"
    printf '},\n "environment":['
    first=1
    while IFS= read -r l; do
      [ $first = 1 ] || printf ','; first=0
      json_str "$l"
    done < <(env_lines)
    printf '],\n "rows":[\n'
    first=1
    for line in "${RESULTS[@]}"; do
      IFS=$'\t' read -r row what rs peer ps lb la bin rnote <<<"$line"
      ratio=$(ratio_of "$ps" "$rs")
      [ $first = 1 ] || printf ',\n'; first=0
      printf '  {"row":%s,"work":%s,"bannerlm_s":%s,"peer":%s,"peer_s":%s,"ratio_peer_over_bannerlm":%s,"verdict":%s,"load_before":%s,"load_after":%s,"bannerlm_binary":%s,"note":%s}' \
        "$(json_str "$row")" "$(json_str "$what")" "$(json_num "$rs")" "$(json_str "$peer")" "$(json_num "$ps")" \
        "$(json_num "$ratio")" "$(json_str "$(verdict "$ratio")")" "$(json_num "$lb")" "$(json_num "$la")" \
        "$(json_str "$bin")" "$(json_str "$rnote")"
    done
    printf '\n ],\n "skipped":['
    first=1
    for s in "${SKIPS[@]}"; do
      [ $first = 1 ] || printf ','; first=0
      printf '{"row":%s,"reason":%s}' "$(json_str "${s%%	*}")" "$(json_str "${s#*	}")"
    done
    printf ']}\n'
  } >"$JSON"
  note "wrote $OUT and $JSON"
fi
