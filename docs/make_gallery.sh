#!/usr/bin/env bash
# Rebuild the README gallery from the command line (headless; charts rendered offscreen).
# Usage: bash docs/make_gallery.sh   (from the repository root, after `make test` or `make run` created .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
py=.venv/bin/python
out=docs/gallery
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { "$py" main.py run -q "$@"; }
chart() { "$py" main.py export "$1" --png "$out/$2" --chart "$3" --size 1000x560 "${@:4}" >/dev/null 2>&1; }

# 1. Image models lose diversity when trained on AI images.
run --scenario digits --policy replace --generations 20 --samples 400 --seed 2 --name "replace" -o "$work/digits.collapse"
run --scenario digits --policy mix --set alpha=0.5 --generations 20 --samples 400 --seed 2 --name "mix 50% real" \
    -o "$work/digits.collapse"
chart "$work/digits.collapse" digits-images.png histogram --run replace
chart "$work/digits.collapse" digits-recall.png recall

# 2. Text models converge to repetitive patterns.
run --scenario text --policy replace --generations 20 --samples 400 --seed 2 --name "replace" -o "$work/text.collapse"
run --scenario text --policy mix --set alpha=0.5 --generations 20 --samples 400 --seed 2 --name "mix 50% real" \
    -o "$work/text.collapse"
chart "$work/text.collapse" text-distinct2.png distinct_2
chart "$work/text.collapse" text-samples.png histogram --run replace

# 3. Quality degrades across generations (with the closed form drawn beside it).
run --scenario gaussian --policy replace --generations 150 --samples 100 --replicates 100 --seed 1 --name "replace" \
    -o "$work/gauss.collapse"
chart "$work/gauss.collapse" gaussian-fitvar.png fit_var
run --scenario regression --policy replace --generations 50 --samples 100 --replicates 20 --seed 1 --name "replace" \
    -o "$work/reg.collapse"
run --scenario regression --policy accumulate --generations 50 --samples 100 --replicates 20 --seed 1 \
    --name "accumulate" -o "$work/reg.collapse"
chart "$work/reg.collapse" regression-error.png test_error

# 4. Mitigation: mixing real data (fresh each generation vs a fixed pool).
run --scenario gmm --policy replace --generations 150 --samples 200 --seed 3 --name "replace" -o "$work/gmm.collapse"
run --scenario gmm --policy mix --set alpha=0.2 --set real=fresh --generations 150 --samples 200 --seed 3 \
    --name "mix 20% fresh real" -o "$work/gmm.collapse"
run --scenario gmm --policy accumulate --generations 150 --samples 200 --seed 3 --name "accumulate" \
    -o "$work/gmm.collapse"
chart "$work/gmm.collapse" gmm-kl.png kl
chart "$work/gmm.collapse" gmm-heatmap.png heatmap --run replace

# 5. Mitigation: filtering synthetic data with a verifier.
run --scenario gaussian --policy filter --set verifier=ratio --generations 200 --samples 200 --replicates 10 \
    --seed 4 --name "filter (ratio verifier)" -o "$work/filter.collapse"
run --scenario gaussian --policy replace --generations 200 --samples 200 --replicates 10 --seed 4 --name "replace" \
    -o "$work/filter.collapse"
chart "$work/filter.collapse" filter-w1.png w1

# 6. Mitigation: diverse sources, and what they need to help.
run --scenario categorical --policy replace --generations 100 --samples 2000 --replicates 10 --seed 5 \
    --name "replace" -o "$work/cat.collapse"
run --scenario categorical --policy multi-source --set sources=5 --generations 100 --samples 2000 --replicates 10 \
    --seed 5 --name "5 sources, same data" -o "$work/cat.collapse"
run --scenario categorical --policy multi-source --set sources=5 --set real_alpha=0.2 --generations 100 \
    --samples 2000 --replicates 10 --seed 5 --name "5 sources + 20% real" -o "$work/cat.collapse"
chart "$work/cat.collapse" categorical-alive.png alive
chart "$work/cat.collapse" categorical-rank.png histogram --run "replace #1"
# 7. The other model families: kernel density estimates, 2-D mixtures and your own CSV data.
run --scenario kde --policy replace --generations 40 --samples 300 --seed 6 --name "kde replace" -o "$work/kde.collapse"
chart "$work/kde.collapse" kde-heatmap.png heatmap
run --scenario gmm --set dims=2 --set modes=5 --policy replace --generations 60 --samples 400 --seed 7 \
    --name "2-D mixture replace" -o "$work/gmm2.collapse"
chart "$work/gmm2.collapse" gmm2d-histogram.png histogram
run --scenario csv --set columns=petal_length --set model=gmm --policy replace --generations 100 --samples 150 \
    --seed 8 --name "iris petal length, gmm" -o "$work/csv.collapse"
chart "$work/csv.collapse" csv-histogram.png histogram
echo "gallery written to $out"
