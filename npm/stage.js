// Lays out the npm packages to pack, with the version stamped from Cargo.toml:
//   node npm/stage.js main <version> <stage dir>
//       the launcher package `clawrun` (its optionalDependencies point at
//       clawrun@<version>-<platform>), in <stage dir>/clawrun
//   node npm/stage.js platform <version> <platform> <binary> <stage dir>
//       the package `clawrun@<version>-<platform>` holding the binary at
//       vendor/<triple>/bin/clawrun, in <stage dir>/clawrun-<platform>
// Prints the staged directory. Used by scripts/npm-pack.sh and the release workflow.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { PLATFORMS } = require("./clawrun/lib/platforms.js");

const SOURCE = path.join(__dirname, "clawrun");

function usage(message) {
  process.stderr.write(`stage.js: ${message}\n`);
  process.exit(2);
}

function fresh(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function writeJson(file, value) {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function readManifest() {
  return JSON.parse(fs.readFileSync(path.join(SOURCE, "package.json"), "utf8"));
}

function stageMain(version, stageDir) {
  const dir = fresh(path.join(stageDir, "clawrun"));
  const manifest = readManifest();
  manifest.version = version;
  manifest.optionalDependencies = {};
  for (const [key, p] of Object.entries(PLATFORMS)) {
    manifest.optionalDependencies[p.alias] = `npm:clawrun@${version}-${key}`;
  }
  for (const file of [...manifest.files, "README.md"]) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(SOURCE, file), path.join(dir, file));
  }
  fs.chmodSync(path.join(dir, manifest.bin.clawrun), 0o755);
  writeJson(path.join(dir, "package.json"), manifest);
  return dir;
}

function stagePlatform(version, key, binary, stageDir) {
  const platform = PLATFORMS[key];
  if (!platform) usage(`unknown platform ${key} (known: ${Object.keys(PLATFORMS).join(", ")})`);
  if (!fs.statSync(binary, { throwIfNoEntry: false })?.isFile()) usage(`no binary at ${binary}`);
  const dir = fresh(path.join(stageDir, platform.alias));
  const main = readManifest();
  const vendor = path.join(dir, "vendor", platform.triple, "bin");
  fs.mkdirSync(vendor, { recursive: true });
  fs.copyFileSync(binary, path.join(vendor, "clawrun"));
  fs.chmodSync(path.join(vendor, "clawrun"), 0o755);
  writeJson(path.join(dir, "package.json"), {
    name: "clawrun",
    version: `${version}-${key}`,
    description: `The clawrun binary for ${key} (${platform.triple}); install the package clawrun instead.`,
    license: main.license,
    repository: main.repository,
    os: [platform.os],
    cpu: [platform.cpu],
    files: ["vendor"],
  });
  return dir;
}

const [command, version, ...rest] = process.argv.slice(2);
if (!version || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/.test(version)) usage(`bad version: ${version}`);
if (command === "main" && rest.length === 1) {
  process.stdout.write(`${stageMain(version, rest[0])}\n`);
} else if (command === "platform" && rest.length === 3) {
  process.stdout.write(`${stagePlatform(version, rest[0], rest[1], rest[2])}\n`);
} else {
  usage("usage: stage.js main <version> <dir> | platform <version> <platform> <binary> <dir>");
}
