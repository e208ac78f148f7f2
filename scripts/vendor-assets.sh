#!/bin/sh
# Refresh the third-party browser assets vendored into the repository (the only step that needs
# Node: `make run` and the tests use the committed copies). Pinned versions; each copy keeps its
# LICENSE and a VERSION file. Run from the repository root: sh scripts/vendor-assets.sh
set -eu
JSQR=1.4.0      # QR decoding where the browser has no BarcodeDetector (the staff screen)
AXE=4.14.1      # accessibility checks in the browser tests
CHARTJS=4.6.2   # the campaign page's charts (the dashboard)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {  # fetch NAME VERSION DEST FILE...
    name=$1 version=$2 dest=$3
    shift 3
    (cd "$work" && npm pack --silent "$name@$version" >/dev/null && mkdir -p "$name" && tar -xzf "$name-$version.tgz" -C "$name")
    rm -rf "$dest" && mkdir -p "$dest"
    for file in "$@"; do cp "$work/$name/package/$file" "$dest/"; done
    cp "$work/$name/package/LICENSE"* "$dest/"
    echo "$name $version" > "$dest/VERSION"
}

fetch jsqr "$JSQR" src/voucherd/web/staff/static/vendor/jsqr dist/jsQR.js
fetch axe-core "$AXE" tests/web/vendor/axe-core axe.min.js
fetch chart.js "$CHARTJS" src/voucherd/web/dashboard/static/vendor/chartjs dist/chart.umd.js
echo "vendored jsqr $JSQR, axe-core $AXE and chart.js $CHARTJS"
