#!/usr/bin/env bash
# The packages as npm users get them: packs every published package, installs the tarballs with
# npm (plus what the README install lines name, from the registry) into a fresh project in a
# temporary directory outside the workspace, and runs there: one snippet per adapter with its
# framework's mock model against a loopback paywall paid by a `sandbox:` wallet, `npx l402kit
# --help`, `npx l402kit sandbox` with `l402kit fetch` and an MCP stdio session through
# `npx l402kit-mcp` in other processes, require() from CommonJS, and tsc over the README
# snippets with skipLibCheck false and no DOM lib. Needs only Node 22.13+ and the registry.
# Usage: .ci/packed-install.sh   (after a build; L402KIT_KEEP_PACKED=1 keeps the temp dir)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
pnpm() { npx -y pnpm@10.34.9 "$@"; }
step() { printf '\n---- packed: %s\n' "$*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/l402kit-packed.XXXXXX")
sandbox_pid=
cleanup() {
  local status=$?
  # npx does not pass signals on to the CLI: stop the sandbox's whole process group.
  if [ -n "$sandbox_pid" ]; then kill -- "-$sandbox_pid" 2>/dev/null || true; fi
  if [ "$status" -ne 0 ] && [ -f "$work/sandbox.out" ]; then
    echo "l402kit sandbox output:"; cat "$work/sandbox.out" "$work/sandbox.err" 2>/dev/null || true
  fi
  if [ "${L402KIT_KEEP_PACKED:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
# Every step is bounded: a hung step fails the run instead of holding CI.
bounded() { timeout --kill-after=10 "$@"; }

step "pack"
cd "$repo"
pnpm build >/dev/null
mkdir -p "$work/tarballs"
for dir in packages/*/; do
  if node -e "process.exit(require('./${dir}package.json').private ? 0 : 1)"; then continue; fi
  (cd "$dir" && pnpm pack --pack-destination "$work/tarballs" >/dev/null)
done
ls "$work/tarballs"
for tarball in "$work"/tarballs/*.tgz; do
  listing=$(tar tzf "$tarball")
  if grep -E 'tsbuildinfo|\.test\.(ts|js)$' <<<"$listing"; then
    echo "$tarball ships build info or tests"; exit 1
  fi
  grep -qx 'package/LICENSE' <<<"$listing" || { echo "$tarball has no LICENSE"; exit 1; }
done

step "install the tarballs with npm into $work/project"
mkdir -p "$work/project"
cp "$repo"/.ci/packed/* "$work/project/"
cd "$work/project"
printf '{ "name": "packed-install", "private": true, "type": "module" }\n' >package.json
# What the READMEs tell users to install (the l402kit packages come from the tarballs).
registry=$(grep -h '^npm install ' "$repo"/README.md "$repo"/packages/*/README.md |
  sed 's/#.*//; s/^npm install //' | tr ' ' '\n' | grep -v -e '^-' -e '^@l402kit/' -e '^$' | sort -u)
echo "from the registry: $(echo $registry)"
bounded 600 npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz $registry \
  typescript@5.9 @types/node@22 @modelcontextprotocol/sdk@1

step "tsc --noEmit (README snippets and these scripts; skipLibCheck false, no DOM lib)"
node readme-snippets.mjs "$repo"
# Some frameworks' own .d.ts need the DOM lib (ai's HeadersInit, Mastra's MediaStream); with
# skipLibCheck false their errors are reported, but only ours fail the run: any error in the
# snippets, these scripts or an @l402kit package. The framework-free packages are checked again
# on their own, where no framework's .d.ts can declare a DOM type for them.
typecheck() {
  bounded 300 npx tsc -p "$1" >"$work/tsc.out" || true
  if grep -E '^[^ ]+\([0-9]+,[0-9]+\): error' "$work/tsc.out" | grep -v '^node_modules/' ||
    grep -E '^node_modules/@l402kit/[^ ]+\([0-9]+,[0-9]+\): error' "$work/tsc.out"; then
    echo "tsc -p $1: errors in the README snippets or the l402kit packages (above)"; exit 1
  fi
  echo "tsc -p $1: no errors in the snippets or the l402kit .d.ts" \
    "($(grep -c ': error' "$work/tsc.out" || true) in other packages' .d.ts without the DOM lib)"
}
typecheck tsconfig.json
typecheck tsconfig.core.json

step "require() from CommonJS"
bounded 60 node require-core.cjs

step "adapters with their frameworks' mock models, paying a loopback paywall with sandbox:"
for snippet in langchain ai-sdk openai-agents mastra; do
  bounded 120 node --experimental-strip-types --no-warnings "$snippet.ts"
done

step "npx l402kit --help"
help=$(bounded 60 npx l402kit --help)
grep -q 'fetch <url>' <<<"$help" || { echo "$help"; exit 1; }
help=$(bounded 60 npx l402kit-mcp --help)
grep -q 'L402KIT_WALLET' <<<"$help" || { echo "$help"; exit 1; }

step "npx l402kit sandbox, then l402kit fetch and l402kit-mcp in other processes"
mkdir -p "$work/home"
# The CLI and the MCP server keep budgets, tokens and the spend log in ~/.l402kit/l402kit.db by
# default: this run uses its own database, never the machine's.
export L402KIT_DB="$work/home/l402kit.db"
setsid npx l402kit sandbox --port 0 --wallet-port 0 >"$work/sandbox.out" 2>"$work/sandbox.err" &
sandbox_pid=$!
for _ in $(seq 1 120); do
  grep -q "export L402KIT_WALLET=" "$work/sandbox.out" 2>/dev/null && break
  kill -0 "$sandbox_pid" 2>/dev/null || { echo "l402kit sandbox exited"; exit 1; }
  sleep 0.5
done
L402KIT_WALLET=$(sed -n "s/^ *export L402KIT_WALLET='\(.*\)'$/\1/p" "$work/sandbox.out")
RESEARCH_API_URL=$(sed -n 's/^ *research API *\(http:[^ ]*\).*/\1/p' "$work/sandbox.out")
[ -n "$L402KIT_WALLET" ] && [ -n "$RESEARCH_API_URL" ] || { echo "no wallet or API URL printed"; exit 1; }
export L402KIT_WALLET RESEARCH_API_URL L402KIT_ALLOW_PRIVATE_NETWORK=1
bounded 60 npx l402kit fetch --max-sats 5 "$RESEARCH_API_URL/v1/search?q=lightning+fees" >"$work/search.json"
grep -q '"results"' "$work/search.json" || { cat "$work/search.json"; exit 1; }
spend=$(bounded 60 npx l402kit spend)
echo "$spend"
grep -q 'paid' <<<"$spend" || exit 1
bounded 120 node --experimental-strip-types --no-warnings mcp-session.ts

echo
echo "packed install: every check passed in $work/project"
