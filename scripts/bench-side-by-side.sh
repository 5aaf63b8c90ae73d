#!/usr/bin/env bash
# Side-by-side benchmark: PyTorch peer baselines and `lcnn bench peers`, one table.
#
#   VENV=path/to/venv-with-torch scripts/bench-side-by-side.sh [--only T1/MLP2D,T2] [more torch_bench.py / lcnn options]
#
# Run from anywhere; paths are relative to the repository root. Environment:
#   VENV   (required) a Python venv with torch
#   PEERS  the peer benchmark folder (default ../shared/bench/peers, relative to the repo root)
#   DIR    where results go (default runs/bench-side-by-side); both files are appended to
# Extra arguments (--only, --warmup, --reps) go to both benchmarks. Both use 2 threads
# (BENCH_THREADS=2). Don't run anything else meanwhile: each benchmark uses both cores.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${VENV:?set VENV to a Python venv with torch}"
PEERS="${PEERS:-../shared/bench/peers}"
DIR="${DIR:-runs/bench-side-by-side}"
SCRATCH="${SCRATCH:-.build}"
export BENCH_THREADS=2

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"   # torch_bench.py runs from PEERS
PYTHON="$(cd "$VENV" && pwd)/bin/python"

echo "== building lcnn (release)" >&2
swift build -c release --scratch-path "$SCRATCH" --product lcnn >&2
LCNN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/lcnn"

echo "== torch ($PEERS/torch_bench.py)" >&2
(cd "$PEERS" && "$PYTHON" torch_bench.py --out "$DIR/results-torch.jsonl" "$@")

echo "== swift (lcnn bench peers)" >&2
"$LCNN" bench peers --out "$DIR/results-swift.jsonl" "$@"

echo "== summary" >&2
"$PYTHON" "$PEERS/summarize.py" "$DIR/results-torch.jsonl" "$DIR/results-swift.jsonl"
