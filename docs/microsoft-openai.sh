#!/bin/sh
# Draws docs/microsoft-openai.svg, the picture in the README: the bundled
# Microsoft–OpenAI history, each amendment recorded at noon UTC on the day
# its file is named after, drawn as known on 2026-12-01.
#
#   sh docs/microsoft-openai.sh [PACTUM-BINARY] [OUTPUT]
#
# (default: target/release/pactum, docs/microsoft-openai.svg). A test
# (tests/it/picture.rs) checks that the committed file is what this draws.
set -eu
bin=${1:-target/release/pactum}
out=${2:-docs/microsoft-openai.svg}
here=$(dirname "$0")/..
ledger=$(mktemp -d)/pactum.ledger
for f in "$here"/fixtures/microsoft-openai/*.toml; do
  day=$(basename "$f" | cut -c1-10)
  PACTUM_NOW="${day}T12:00:00Z" "$bin" --ledger "$ledger" append "$f" >/dev/null
done
PACTUM_NOW=2026-12-01T12:00:00Z "$bin" --ledger "$ledger" timeline microsoft-openai -o "$out"
rm -rf "$(dirname "$ledger")"
