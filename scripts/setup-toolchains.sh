#!/usr/bin/env bash
# Installs the system packages that building compiled guests needs when
# they are missing: for C, Debian's clang, lld, wasi-libc and the wasm32
# compiler runtime; for Rust, Debian's rustc and its wasm32 standard library
# (used through /usr/bin/rustc when a rustup rustc on PATH lacks the
# target). Idempotent; `npm test` runs it. Without root or apt-get it says
# so and goes on: the tests use the checked-in prebuilt fixtures then.
# Also openssl, which the TLS tests make their certificates with.
set -u
need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v wasm-ld >/dev/null 2>&1 || need+=(lld)
[ -f /usr/lib/wasm32-wasi/libc.a ] || need+=(wasi-libc)
ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 || need+=(libclang-rt-dev-wasm32)
[ -x /usr/bin/rustc ] || need+=(rustc)
[ -d /usr/lib/rustlib/wasm32-unknown-unknown/lib ] || need+=(libstd-rust-dev-wasm32)
# the TLS tests make their certificates with openssl
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-toolchains: missing ${need[*]} (needs root and apt-get); compiled guest fixtures will be used as checked in" >&2
  exit 0
fi
echo "setup-toolchains: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${need[@]}" >/tmp/wray-setup-toolchains.log 2>&1; then
  apt-get update -q >>/tmp/wray-setup-toolchains.log 2>&1
  apt-get install -y -q --no-install-recommends "${need[@]}" >>/tmp/wray-setup-toolchains.log 2>&1 ||
    echo "setup-toolchains: could not install ${need[*]} (see /tmp/wray-setup-toolchains.log); compiled guest fixtures will be used as checked in" >&2
fi
exit 0
