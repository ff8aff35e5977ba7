#!/usr/bin/env bash
# Build tailscaled (with the tailscale CLI in the same binary) from the Go module tailscale.com, at the version
# pinned in go.mod beside this script (run in the builder image).
#
#   build-tailscale.sh SOURCE_DIR OUT_DIR TOOLCHAIN TOOLCHAIN_SUM
#
# Debian 12's Go (1.19) is too old for tailscale.com, so it only fetches the Go toolchain that go.mod names, as
# the module golang.org/toolchain from the Go module proxy (checked against TOOLCHAIN_SUM, the h1: hash), and
# that toolchain builds. Module and build caches are /cache/go/mod and /cache/go/build (mounts, kept between
# builds). The program is static (CGO_ENABLED=0) and acts as the CLI when called as `tailscale`.
set -euo pipefail
src=$1
out=$2
toolchain=$3
toolchain_sum=$4
export GOMODCACHE=/cache/go/mod GOCACHE=/cache/go/build GOFLAGS="-modcacherw -mod=readonly" GOTOOLCHAIN=local \
  CGO_ENABLED=0 GOPATH=/tmp/gopath
if [ -s /etc/roverlab-build-ca.pem ]; then export SSL_CERT_FILE=/etc/roverlab-build-ca.pem; fi
arch=$(dpkg --print-architecture)
module="golang.org/toolchain@v0.0.1-$toolchain.linux-$arch"

echo "--- Go toolchain $toolchain (module $module)"
info=$(cd /tmp && GOFLAGS=-modcacherw GO111MODULE=on /usr/lib/go/bin/go mod download -json "$module")
sum=$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')
dir=$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
if [ "$arch" = amd64 ] && [ "$sum" != "$toolchain_sum" ]; then
  echo "the toolchain module's hash is $sum, expected $toolchain_sum" >&2
  exit 1
fi
# module zips record no permissions: make the toolchain's programs executable, as the go command does when it
# switches toolchains itself
chmod -R a+x "$dir/bin" "$dir/pkg/tool"
go=$dir/bin/go
"$go" version

echo "--- tailscaled"
cd "$src"
version=$("$go" list -m -f '{{.Version}}' tailscale.com)
mkdir -p "$out"
stamp="-X tailscale.com/version.longStamp=${version#v} -X tailscale.com/version.shortStamp=${version#v}"
"$go" build -trimpath -tags ts_include_cli -ldflags "-s -w $stamp" -o "$out/tailscaled.tmp" tailscale.com/cmd/tailscaled
mv "$out/tailscaled.tmp" "$out/tailscaled"
"$out/tailscaled" --version | head -1
echo "tailscale.com $version: $(du -h "$out/tailscaled" | cut -f1)"
