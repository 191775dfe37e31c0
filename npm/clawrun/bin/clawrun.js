#!/usr/bin/env node
// clawrun's npm launcher. The binary itself comes in a per-platform package (an
// optional dependency, so npm installs only the one matching this machine, and no
// install script is needed); this finds it and hands the process over to it.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { PLATFORMS } = require("../lib/platforms.js");

const RUST_INSTALL = "or build it with Rust: cargo install clawrun";

function fail(message) {
  process.stderr.write(`clawrun: ${message}\n`);
  process.exit(1);
}

// The Linux builds link glibc (2.28 or newer); musl systems (Alpine) cannot run them.
function isMuslLinux() {
  if (process.platform !== "linux" || !process.report) return false;
  const header = process.report.getReport().header || {};
  return !header.glibcVersionRuntime;
}

function findBinary() {
  const key = `${process.platform}-${process.arch}`;
  const platform = PLATFORMS[key];
  if (!platform) {
    const known = Object.keys(PLATFORMS).join(", ");
    fail(`no prebuilt binary for ${key} (there are: ${known}); ${RUST_INSTALL}`);
  }
  if (isMuslLinux()) {
    fail(`the prebuilt Linux binary needs glibc 2.28 or newer, and this system has none (musl?); ${RUST_INSTALL}`);
  }
  let root;
  try {
    root = path.dirname(require.resolve(`${platform.alias}/package.json`));
  } catch {
    fail(
      `the package with the ${key} binary (${platform.alias}) is not installed; ` +
        `reinstall without omitting optional dependencies: npm install -g clawrun; ${RUST_INSTALL}`,
    );
  }
  const binary = path.join(root, "vendor", platform.triple, "bin", "clawrun");
  if (!fs.existsSync(binary)) fail(`${binary} is missing; reinstall: npm install -g clawrun`);
  return binary;
}

// Node >= 22.15 / 23.11: replace this process with the binary, so it has the
// launcher's pid and every signal sent to that pid reaches clawrun itself.
function execInPlace(binary, args) {
  // Node ignores SIGXFSZ, and an ignored signal stays ignored across execve:
  // a handler makes execve give the binary the default disposition back.
  process.on("SIGXFSZ", () => {});
  process.execve(binary, [binary, ...args], process.env);
}

// Older Node: run the binary as a child, pass on the signals sent to this process,
// and end the way it ended (same exit code, or killed by the same signal).
function runAsChild(binary, args) {
  const child = spawn(binary, args, { stdio: "inherit" });
  const forwarded = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
  const forward = (signal) => {
    try {
      child.kill(signal);
    } catch {
      // the child is already gone: its exit handler below ends this process.
    }
  };
  for (const signal of forwarded) process.on(signal, forward);
  child.on("error", (err) => fail(`cannot run ${binary}: ${err.message}`));
  child.on("exit", (code, signal) => {
    if (signal) {
      for (const s of forwarded) process.removeAllListeners(s);
      process.exitCode = 128 + (os.constants.signals[signal] || 0);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code === null ? 1 : code);
  });
}

const binary = findBinary();
const args = process.argv.slice(2);
if (process.platform !== "win32" && typeof process.execve === "function") {
  execInPlace(binary, args);
} else {
  runAsChild(binary, args);
}
