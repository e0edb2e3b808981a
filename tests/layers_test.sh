#!/usr/bin/env bash
# scripts/check_layers.py passes on the sources and fails, naming each offence, on a tree that
# includes up a layer, includes LibTorch below it, or has a cycle between method folders.
set -euo pipefail
root="$1"
python3 "$root/scripts/check_layers.py" "$root" || { echo "FAIL: the sources break the layering"; exit 1; }
bad=$(mktemp -d); trap 'rm -rf "$bad"' EXIT
mkdir -p "$bad/src/text" "$bad/src/common" "$bad/src/methods/a" "$bad/src/methods/b" "$bad/data_prep"
echo '#include "data/shard_format.h"' > "$bad/src/text/up.h"
echo '#include <torch/torch.h>' > "$bad/src/common/torch.h"
echo '#include "methods/b/y.h"' > "$bad/src/methods/a/x.h"
echo '#include "methods/a/x.h"' > "$bad/src/methods/b/y.h"
echo '#include "model/bert.h"' > "$bad/data_prep/p.cpp"
echo '#include <torch/torch.h>' > "$bad/data_prep/spam_assassin_reader.cpp"
echo '#include <torch/torch.h>' > "$bad/data_prep/tasks_command.cpp"  # a command may use LibTorch
if python3 "$root/scripts/check_layers.py" "$bad" 2> "$bad/err"; then
  echo "FAIL: a broken tree passed"; exit 1
fi
for want in 'src/text/up.h: includes "data/shard_format.h"' 'src/common/torch.h: includes <torch/torch.h>' \
            'cycle between method folders: a -> b -> a' 'data_prep/p.cpp: includes "model/bert.h"' \
            'data_prep/spam_assassin_reader.cpp: includes <torch/torch.h>'; do
  grep -qF "$want" "$bad/err" || { cat "$bad/err"; echo "FAIL: not reported: $want"; exit 1; }
done
! grep -q "tasks_command.cpp" "$bad/err" || { cat "$bad/err"; echo "FAIL: a prep command may use LibTorch"; exit 1; }
echo "PASS: layering holds; upward include, LibTorch below it, cycle and prep → model all caught"
