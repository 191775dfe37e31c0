// The prebuilt builds of clawrun, one npm package each: the key is Node's
// `${process.platform}-${process.arch}`, `alias` the optionalDependencies name that
// points at `npm:clawrun@<version>-<key>`, `triple` the Rust target the binary was
// built for (its path in that package: vendor/<triple>/bin/clawrun).
// Shared by the launcher (bin/clawrun.js) and the packing script (npm/stage.js).
"use strict";

const PLATFORMS = {
  "linux-x64": { triple: "x86_64-unknown-linux-gnu", os: "linux", cpu: "x64" },
  "linux-arm64": { triple: "aarch64-unknown-linux-gnu", os: "linux", cpu: "arm64" },
  "darwin-x64": { triple: "x86_64-apple-darwin", os: "darwin", cpu: "x64" },
  "darwin-arm64": { triple: "aarch64-apple-darwin", os: "darwin", cpu: "arm64" },
};

for (const [key, p] of Object.entries(PLATFORMS)) {
  p.alias = `clawrun-${key}`;
}

module.exports = { PLATFORMS };
