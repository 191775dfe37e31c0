// The launcher (clawrun/bin/clawrun.js) with a stand-in binary: it finds the platform
// package, passes the arguments, and ends the way the binary ended (exit code or
// signal); without the platform package it says how to install, and exits 1.
// Run: node --test npm/test/launcher.test.js (the execve path with Node >= 22.15,
// the spawn-and-forward path with older Node).
"use strict";

const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const test = require("node:test");
const { PLATFORMS } = require("../clawrun/lib/platforms.js");

const SOURCE = path.join(__dirname, "..", "clawrun");
const PLATFORM = PLATFORMS[`${process.platform}-${process.arch}`];

// A global-style install in a temp dir: node_modules/clawrun (+ the platform package).
function install({ withBinary }) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "clawrun-launcher-"));
  roots.push(root);
  const pkg = path.join(root, "node_modules", "clawrun");
  for (const file of ["package.json", "bin/clawrun.js", "lib/platforms.js"]) {
    fs.mkdirSync(path.dirname(path.join(pkg, file)), { recursive: true });
    fs.copyFileSync(path.join(SOURCE, file), path.join(pkg, file));
  }
  if (withBinary) {
    const plat = path.join(root, "node_modules", PLATFORM.alias);
    const bin = path.join(plat, "vendor", PLATFORM.triple, "bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(plat, "package.json"), '{"name": "clawrun", "version": "0.0.0-test"}\n');
    fs.writeFileSync(
      path.join(bin, "clawrun"),
      '#!/bin/sh\ncase "$1" in\n  exit) echo "args: $*"; exit "$2" ;;\n  signal) kill -"$2" $$ ;;\nesac\n',
      { mode: 0o755 },
    );
  }
  return path.join(pkg, "bin", "clawrun.js");
}

const roots = [];
test.after(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

const launch = (launcher, args) =>
  spawnSync(process.execPath, [launcher, ...args], { encoding: "utf8", timeout: 30000 });

test("passes the arguments and the exit code", { skip: !PLATFORM }, () => {
  const r = launch(install({ withBinary: true }), ["exit", "5", "two words"]);
  assert.equal(r.stdout, "args: exit 5 two words\n");
  assert.equal(r.status, 5);
});

test("a binary killed by a signal kills the launcher with it", { skip: !PLATFORM }, () => {
  const r = launch(install({ withBinary: true }), ["signal", "TERM"]);
  assert.equal(r.signal, "SIGTERM");
});

test("without the platform package: a clear error, exit 1", { skip: !PLATFORM }, () => {
  const r = launch(install({ withBinary: false }), ["--version"]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`\\(${PLATFORM.alias}\\) is not installed`));
  assert.match(r.stderr, /npm install -g clawrun/);
  assert.match(r.stderr, /cargo install clawrun/);
});
