#!/usr/bin/env bash
# The main job: set up (installs missing Debian packages), build, and train the
# Transformer on the copy task with its default settings (the Annotated
# Transformer's configuration), printing the evaluation loss and the greedy
# decoding of "1 2 3 4 5 6 7 8 9 10". Extra arguments go to `attograd train copy`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
mkdir -p "$here/runs"
exec "$here/build/cli/attograd" train copy --save "$here/runs/copy.safetensors" \
  --metrics "$here/runs/copy.metrics.jsonl" "$@"
