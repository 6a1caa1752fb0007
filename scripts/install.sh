#!/usr/bin/env bash
# Set up .venv with citerag. `--dev` adds the test tools and the llama.cpp server the tests use.
# Torch goes first, pinned to the CPU build: an unpinned torch pulls gigabytes of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --disable-pip-version-check -c constraints.txt)

"${pip[@]}" -q torch==2.13.0
if [ "${1:-}" = "--dev" ]; then
  if ! .venv/bin/python -c "import llama_cpp.server" 2>/dev/null; then
    echo "building llama-cpp-python from source (a few minutes on 2 cores)..."
    if [ "$(uname -m)" = "x86_64" ]; then
      # Portable AVX2 build: a native build uses AMX/AVX-512 tile code that faults in some VMs.
      export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
        -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF"
    fi
    "${pip[@]}" -q --no-cache-dir "llama-cpp-python[server]==0.3.36"
  fi
  "${pip[@]}" -q -e ".[dev]"
else
  "${pip[@]}" -q -e .
fi
# The embedding model runs on ONNX Runtime: export it once now rather than on the first answer.
.venv/bin/python -m rag.index.model_export
echo "installed into .venv"
