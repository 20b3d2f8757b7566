#!/usr/bin/env bash
# Makes sure a WebGPU adapter can be opened for the GPU tests: when Dawn
# (npm `webgpu`) finds none, installs Mesa's lavapipe, a software Vulkan
# driver. Dawn refuses the Mesa 22 that Debian bookworm ships
# ("shaderUniform*ArrayDynamicIndexing required"), so the driver comes from
# bookworm-backports (Mesa 25), using the mirror the machine already names for
# bookworm. Idempotent; `npm test` runs it. Without root, apt-get or bookworm
# it says so and goes on: the GPU tests then skip, saying why.
set -u
cd "$(dirname "$0")/.."
probe() {
  node --input-type=module -e '
    import { create } from "webgpu";
    const adapter = await create([]).requestAdapter();
    if (!adapter) process.exit(1);
    console.log(`${adapter.info.vendor} ${adapter.info.device || adapter.info.description}`.trim());
    process.exit(0);' 2>/dev/null
}
if name=$(probe); then
  exit 0
fi
log=/tmp/wray-setup-gpu.log
. /etc/os-release 2>/dev/null || true
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || [ "${VERSION_CODENAME:-}" != bookworm ]; then
  echo "setup-gpu: no WebGPU adapter, and lavapipe can be installed here only as root with apt-get on Debian bookworm; GPU tests will skip" >&2
  exit 0
fi
echo "setup-gpu: no WebGPU adapter; installing Mesa's lavapipe from bookworm-backports"
export DEBIAN_FRONTEND=noninteractive
list=/etc/apt/sources.list.d/wray-bookworm-backports.list
if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # The first mirror that already serves bookworm, in either sources format.
  mirror=$(grep -hs -A3 -E "^Suites:.*\bbookworm\b" /etc/apt/sources.list.d/*.sources | grep -m1 -oP "^URIs:\s*\K\S+")
  [ -n "$mirror" ] || mirror=$(grep -hs -m1 -oP "^deb\s+(\[[^]]*\]\s+)?\K\S+(?=\s+bookworm\s)" /etc/apt/sources.list /etc/apt/sources.list.d/*.list)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  echo "deb $mirror bookworm-backports main" >"$list"
fi
if apt-get update -q >"$log" 2>&1 &&
  apt-get install -y -q --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >>"$log" 2>&1 &&
  name=$(probe); then
  echo "setup-gpu: WebGPU adapter: $name"
else
  echo "setup-gpu: could not install a working lavapipe (see $log); GPU tests will skip" >&2
fi
exit 0
