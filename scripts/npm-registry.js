// A loopback npm registry for scripts/npm-e2e.sh: serves the given package tarballs,
// so `npm install -g clawrun` resolves the launcher's optionalDependencies aliases
// (npm:clawrun@<version>-<platform>) the way it will against the real registry.
//   node scripts/npm-registry.js [<tgz>...]
// With no tarball it knows no package (every name is a 404, at once: a stand-in for
// the public registry when only local tarballs must be installed).
// Prints its URL (http://127.0.0.1:<port>/) on stdout, then serves until killed.
// The dist-tag `latest` is the highest version without a prerelease part.
"use strict";

const { execFileSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");

function manifestOf(tgz) {
  const json = execFileSync("tar", ["-xzOf", tgz, "package/package.json"]);
  return JSON.parse(json.toString("utf8"));
}

function packuments(tarballs, base) {
  const byName = new Map();
  const files = new Map();
  for (const tgz of tarballs) {
    const manifest = manifestOf(tgz);
    const bytes = fs.readFileSync(tgz);
    const file = `${manifest.name}-${manifest.version}.tgz`;
    files.set(file, bytes);
    const doc = byName.get(manifest.name) || { name: manifest.name, "dist-tags": {}, versions: {} };
    doc.versions[manifest.version] = {
      ...manifest,
      dist: {
        tarball: `${base}${manifest.name}/-/${file}`,
        shasum: crypto.createHash("sha1").update(bytes).digest("hex"),
        integrity: `sha512-${crypto.createHash("sha512").update(bytes).digest("base64")}`,
      },
    };
    if (!manifest.version.includes("-")) doc["dist-tags"].latest = manifest.version;
    byName.set(manifest.name, doc);
  }
  return { byName, files };
}

const tarballs = process.argv.slice(2).map((p) => path.resolve(p));
const server = http.createServer();
server.listen(0, "127.0.0.1", () => {
  const base = `http://127.0.0.1:${server.address().port}/`;
  const { byName, files } = packuments(tarballs, base);
  server.on("request", (req, res) => {
    const url = decodeURIComponent(req.url.split("?")[0]).replace(/^\/+/, "");
    const [name, dash, file] = url.split("/");
    if (dash === "-" && files.has(file)) {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(files.get(file));
    } else if (!dash && byName.has(name)) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(byName.get(name)));
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":"not found"}');
    }
  });
  process.stdout.write(`${base}\n`);
});
