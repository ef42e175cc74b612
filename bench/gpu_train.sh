#!/usr/bin/env bash
# bench/train.py on one GPU at an 8B scale: Llama-3.1-8B's architecture (random weights: throughput
# does not depend on them), LoRA r16 on every linear layer, bf16, flash-attention 2 if installed,
# 256 chats of 8 limerick exchanges (~650 tokens each with the small tokenizer), batch 8, ftgate next to TRL's defaults and
# TRL matched to ftgate, best of 2.
#
#   bench/gpu_train.sh fetch   # here, with pip and the network: the wheels the GPU machine lacks into .whl/
#   bench/gpu_train.sh         # there (device run with carry [".whl"]); the log also goes to $OUT
#
# The GPU image is expected to hold python3 with a CUDA torch, accelerate, pandas, pyarrow and the
# rest of datasets' needs; .whl/ adds ftgate's pinned transformers/peft/trl/datasets, pydantic
# (training.tiny_model reads gateway.catalog) and liger-kernel (pure Python over Triton). flash-attn
# has no wheel for arbitrary torch builds: without it ftgate uses its packed sdpa.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=(
    transformers==5.23.0 peft==0.21.2 trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19
    pydantic==2.14.3 pydantic-core==2.50.4 annotated-types==0.8.0 typing-inspection==0.4.5 liger-kernel==0.8.5
)

if [[ "${1:-}" == fetch ]]; then
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "${WHEELS[@]}"
    du -sh .whl
    exit
fi

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
OUT="${OUT:-/tmp}"
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv | tee "$OUT/gpu.txt"
python3 bench/train.py --shape llama-8b --examples 256 --turns 8 --batch-size 8 --repeats 2 "$@" 2>&1 \
    | grep -v -e FutureWarning -e 'warnings.warn' | tee "$OUT/gpu_train.log"
