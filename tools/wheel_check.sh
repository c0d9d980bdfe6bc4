#!/usr/bin/env bash
# The built package as a user gets it: install the wheel (not editable) into fresh venvs and
# use it from a folder that is no checkout.
#
#   tools/wheel_check.sh DIST_DIR          (DIST_DIR holds the sdist and the wheel: make dist)
#
# 1. bare: the wheel and simpy only (no other dependency): the simulator runs, and prints the
#    same JSON rows as the checkout's own install.
# 2. full: the wheel with its `lab` extra: the CLI answers, `coreylab lessons` copies the
#    lessons, one lesson runs top to bottom (no BOKEH_RESOURCES set), and `coreylab lab` outside a
#    checkout starts JupyterLab on a working copy.
set -euo pipefail

DIST=$(cd "$1" && pwd)
WHEEL=$(ls "$DIST"/coreylab-*.whl)
PY=${PYTHON:-python3}
CHECKOUT_PY=$(pwd)/.venv/bin/python
# The checkout's pip installs into the new venvs (pip --python): no pip bootstrapped in each.
pip_into() { local venv=$1; shift; "$CHECKOUT_PY" -m pip -q --python "$venv/bin/python" install "$@"; }
# Kept after the run (build/ is ignored by git; `make clean` removes it): deleting two venvs
# costs more than the check itself on a slow disk.
WORK=$(pwd)/build/wheel-check
rm -rf "$WORK" && mkdir -p "$WORK"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
cd "$WORK"
say() { printf "  [%3d s] %s\n" "$SECONDS" "$*"; }

say "sdist $(du -k "$DIST"/coreylab-*.tar.gz | cut -f1) KB, wheel $(du -k "$WHEEL" | cut -f1) KB"
say "lessons in the wheel: $("$PY" -m zipfile -l "$WHEEL" | grep -c 'coreylab/lessons/.*\.ipynb')"

"$PY" -m venv --without-pip bare
pip_into bare --no-deps "$WHEEL" simpy
SWEEP=(run fd-dup-close --preset tiny --cores 1,2 --seed 3 --format json --jobs 1)
bare/bin/coreylab "${SWEEP[@]}" > bare.json
"$CHECKOUT_PY" -m coreylab.cli "${SWEEP[@]}" > checkout.json
cmp bare.json checkout.json
say "bare (wheel + simpy, no other package): same rows as the checkout"

"$PY" -m venv --without-pip full
pip_into full "$WHEEL[lab]"
full/bin/coreylab --help > /dev/null
full/bin/coreylab list > list.txt
full/bin/coreylab lessons lessons > lessons.txt
say "CLI from the wheel: $(head -1 list.txt | cut -c1-60)...; $(tail -1 lessons.txt)"
start=$(date +%s)
env -u BOKEH_RESOURCES full/bin/jupyter execute --output=ran lessons/00_tour.ipynb 2> execute.log
grep -q 'BokehJS\|Bokeh' lessons/ran.ipynb && ! grep -q 'cdn.bokeh.org' lessons/ran.ipynb
say "00_tour ran in $(( $(date +%s) - start )) s from the wheel, BokehJS inline"

PORT=$(( 20000 + $$ % 10000 ))
full/bin/coreylab lab --port "$PORT" > lab.log 2>&1 &
for _ in $(seq 60); do
    curl -sf "http://127.0.0.1:$PORT/api" > /dev/null && break
    sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/api" > /dev/null
test "$(ls coreylab-lessons/*.ipynb | wc -l)" = 8
say "coreylab lab outside a checkout: JupyterLab up on ./coreylab-lessons (8 lessons)"
