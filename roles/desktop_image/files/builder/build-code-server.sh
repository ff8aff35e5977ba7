#!/usr/bin/env bash
# Build code-server from the npm registry for the image's Node.js, without GitHub (run in the builder image).
#
#   build-code-server.sh VERSION OUT.tar.gz
#
# code-server's own install script would download prebuilt binaries from GitHub (ripgrep, kerberos); here every
# package comes from the npm registry with its scripts off, native modules are compiled with node-gyp against
# Debian's Node.js headers (libnode-dev), and ripgrep is Debian's /usr/bin/rg. The result, /opt/code-server, is
# packed into OUT.tar.gz for the desktop image. npm's cache is /cache/npm (a mount, kept between builds).
set -euo pipefail
version=$1
out=$2
export npm_config_cache=/cache/npm npm_config_nodedir=/usr npm_config_update_notifier=false \
  npm_config_fund=false npm_config_audit=false npm_config_loglevel=warn npm_config_progress=false
if [ -s /etc/roverlab-build-ca.pem ]; then
  export npm_config_cafile=/etc/roverlab-build-ca.pem NODE_EXTRA_CA_CERTS=/etc/roverlab-build-ca.pem
fi
major=$(node -p 'process.versions.node.split(".")[0]')
echo "code-server $version for Node.js $(node --version), npm $(npm --version)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "code-server@$version" >/dev/null
tar -xzf "code-server-$version.tgz"
mv package /opt/code-server
cd /opt/code-server
wanted=$(node -p 'require("./package.json").engines.node')
[ "$wanted" = "$major" ] || { echo "code-server $version wants Node.js $wanted, the image has $major" >&2; exit 1; }

echo "--- code-server's dependencies"
npm install --omit=dev --ignore-scripts --no-save
npm rebuild argon2            # no prebuilt binary can be fetched: node-pre-gyp falls back to building it

echo "--- VS Code's dependencies"
cd lib/vscode
npm install --omit=dev --ignore-scripts --legacy-peer-deps --no-save
# @vscode/ripgrep downloads rg from GitHub unless its bin/ exists: use Debian's
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf /usr/bin/rg node_modules/@vscode/ripgrep/bin/rg
# kerberos, node-pty, spdlog, native-watchdog, @parcel/watcher with node-gyp. Debian's Node.js 18.20 headers
# declare napi finalizers with a const env when NAPI_EXPERIMENTAL is set, which kerberos' older node-addon-api
# does not match: the headers' own opt-out keeps the classic declaration.
CPPFLAGS="${CPPFLAGS:-} -DNODE_API_EXPERIMENTAL_NOGC_ENV_OPT_OUT" npm rebuild
# what code-server's postinstall.sh links
ln -sfn node_modules node_modules.asar
ln -sf code-linux.sh bin/remote-cli/code-server
ln -sf browser-linux.sh bin/helpers/browser.sh

echo "--- the built-in extensions' dependencies"
cd extensions
npm install --omit=dev --legacy-peer-deps --no-save

cd /opt
node /opt/code-server/out/node/entry.js --version
tar -czf "$out.tmp" code-server
mv "$out.tmp" "$out"
echo "packed $(du -h "$out" | cut -f1) into $out"
