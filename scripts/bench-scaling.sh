#!/usr/bin/env bash
# Data-parallel scaling on this machine (BENCHMARKS.md "Data parallelism over MPI"): one epoch of
# SmallCNN on the first N Fashion-MNIST images, as one process with every core and as `mpirun -np 2`
# with the cores shared (threads per rank × ranks = cores); then the fused all-reduce alone.
# Needs Open MPI and a release build with it: LCNN_MPI=1 swift build -c release.
# Usage: scripts/bench-scaling.sh [images, default 12800] [methods, default "standard lcnn gradreg"]
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-12800}
methods=${2:-standard lcnn gradreg}
lcnn=.build/release/lcnn
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
summary() {   # method ranks metrics.jsonl
    python3 - "$@" <<'PY'
import json, sys
method, ranks, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
m = [json.loads(l) for l in open(path) if l.strip()][-1]
steps = m["steps"]
ar = m.get("allreduce_seconds")
print(json.dumps({"name": "data_parallel_epoch", "method": method, "ranks": ranks, "steps": steps,
                  "samples_per_second": round(m["samples_per_second"], 1),
                  "ms_per_step": round(1000 * m["train_seconds"] / steps, 1),
                  "allreduce_ms_per_step": None if ar is None else round(1000 * ar / steps, 2)}))
PY
}
for method in $methods; do
    common=(train --dataset fashion-mnist --method "$method" --epochs 1 --train-subset "$images" --test-subset 1000 --no-progress)
    "$lcnn" "${common[@]}" --out "$out/$method-1" >/dev/null
    summary "$method" 1 "$out/$method-1/metrics.jsonl"
    mpirun -np 2 --oversubscribe "$lcnn" "${common[@]}" --out "$out/$method-2" --distributed >/dev/null
    summary "$method" 2 "$out/$method-2/metrics.jsonl"
done
mpirun -np 2 --oversubscribe "$lcnn" bench allreduce --distributed
