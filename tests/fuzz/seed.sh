#!/usr/bin/env bash
# Seeds the fuzz corpora (tests/fuzz/corpus/<target>/, not committed) from files already in the
# repository and from ../shared (or $QCC_SHARED): every model.onnx of ../shared/onnx-node-tests,
# the hostile corpus, the filetests' and test models' .qir, the small .npz files. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
repo=../..
# ../shared beside the repository (or beside a folder above it, as the tests look for it).
shared=${QCC_SHARED:-}
if [ -z "$shared" ]; then
  d=$(cd "$repo" && pwd)
  while [ "$d" != / ] && [ ! -d "$d/../shared/onnx-node-tests" ]; do d=$(dirname "$d"); done
  shared=$d/../shared
fi
mkdir -p corpus/onnx_load corpus/onnx_struct corpus/qir_parse corpus/npz_read corpus/diff_cranelift corpus/diff_llvm
if [ -d "$shared/onnx-node-tests" ]; then
  i=0
  while IFS= read -r f; do
    cp "$f" "corpus/onnx_load/node_$i.onnx"
    i=$((i + 1))
  done < <(find "$shared/onnx-node-tests" -name model.onnx -size -64k | sort)
else
  echo "warning: $shared/onnx-node-tests is missing; onnx_load starts from the hostile corpus only" >&2
fi
cp "$repo"/tests/hostile/cases/*.onnx "$repo"/tests/hostile/cases/ext/*.onnx corpus/onnx_load/
i=0
while IFS= read -r f; do
  cp "$f" "corpus/qir_parse/seed_$i.qir"
  i=$((i + 1))
done < <(find "$repo/tests/filetests" "$repo/tests/models" "$repo/tests/hostile/cases" -name '*.qir' -size -64k | sort)
cp "$repo"/tests/models/*.npz "$repo"/tests/hostile/cases/*.npz "$repo"/tests/hostile/cases/*.npy corpus/npz_read/
for m in minilm_l6; do
  [ -f "$shared/models/$m/calib.npz" ] && cp "$shared/models/$m/calib.npz" "corpus/npz_read/${m}_calib.npz"
done
for t in onnx_load qir_parse npz_read; do
  find "regressions/$t" -type f ! -name README.md -exec cp {} "corpus/$t/" \;
done
echo "seeded: $(ls corpus/onnx_load | wc -l) onnx, $(ls corpus/qir_parse | wc -l) qir, $(ls corpus/npz_read | wc -l) npz"
