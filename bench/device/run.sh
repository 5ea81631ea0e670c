#!/bin/sh
# The device benchmark, from this folder wherever it is copied: `./run.sh [--quick] [--out file.json]`.
# Runs the Node binary shipped here (node.xz, unpacked into ./.node/ on the first run). Writes device-bench.json here unless --out says otherwise. Needs a Vulkan driver (Dawn).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# The Node binary that built the folder, unpacked once (xz, or Python's lzma where xz is missing).
node_bin="$here/.node/node"
if [ ! -x "$node_bin" ]; then
  mkdir -p "$here/.node"
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$here/node.xz" > "$node_bin.tmp"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
      "$here/node.xz" "$node_bin.tmp"
  fi
  chmod +x "$node_bin.tmp"
  mv "$node_bin.tmp" "$node_bin"
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
cd "$here"
case " $* " in
  *" --out "*) exec "$node_bin" "$here/bench.mjs" "$@" ;;
  *) exec "$node_bin" "$here/bench.mjs" --out "$here/device-bench.json" "$@" ;;
esac
