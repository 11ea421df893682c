#!/usr/bin/env bash
# `make parity` (all real + 120 synthetic pages) and `make parity-fast` (a handful, for CI):
# run the real PaddleX 3.7.2 and our Triton ensemble on the same images and ONNX files, compare
# every stage (parity/compare.py), print `parity: ...` and exit non-zero beyond the tolerances.
set -euo pipefail
cd "$(dirname "$0")/.."
scope="${1:-full}"
eval_dir="${SEAL_EVAL_DIR:-../shared/eval/real}"
synth_dir=.cache/synth
out=".build/parity/$scope"

bash parity/setup_paddlex.sh
.venv/bin/python -m parity.build_paddlex_models >/dev/null
.venv/bin/python -m tools.synth.seals --out "$synth_dir" --count 120 --seed 0 >/dev/null

mapfile -t all_real < <(find "$eval_dir" -maxdepth 1 -type f \( -name '*.png' -o -name '*.jpg' -o -name '*.jpeg' \) | sort)
mapfile -t all_synth < <(find "$synth_dir" -maxdepth 1 -type f -name '*.png' | sort)
if [[ "$scope" == fast ]]; then
  real=("$eval_dir/paddlex_seal_text_det.png" "$eval_dir/nephren_10_oval.jpg" "$eval_dir/nephren_2_round_digital.jpeg")
  synth=("${all_synth[@]:0:6}")
  report=.build/parity/fast/report
  command="make parity-fast"
else
  real=("${all_real[@]}")
  synth=("${all_synth[@]}")
  report=parity/results
  command="make parity"
fi
echo "parity ($scope): ${#real[@]} real + ${#synth[@]} synthetic images, layout on and off"

rm -rf "$out/paddlex"
.venv-paddlex/bin/python parity/run_paddlex.py --out "$out/paddlex" --mode both "${real[@]}" "${synth[@]}" >/dev/null
.venv/bin/python -m parity.compare --paddlex-out "$out/paddlex" --real "${real[@]}" \
  --synthetic "${synth[@]}" --report-dir "$report" --command "$command"
