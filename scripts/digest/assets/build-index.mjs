// Build the digest's search index once, at site-build time, so that no
// browser has to index the whole digest on every page load.
//
// node build-index.mjs MINISEARCH_ESM INPUT OUTDIR
//   MINISEARCH_ESM: the project's node_modules/minisearch/dist/es/index.js
//   INPUT: JSON {"docs": [{"id", "title", "terms", "text"}]}
//   OUTDIR: receives header.json (the serialized index without its terms)
//           and shards/<name>.json (the terms, split by first character)
// The options must match search-worker.js beside this file.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const OPTIONS = { fields: ["title", "terms", "text"], storeFields: [] };

// Must match shard_of() in searchindex.py and searchShard() in search-worker.js.
function shardOf(term) {
  const code = term.codePointAt(0);
  const first = String.fromCodePoint(code);
  return /[a-z0-9]/.test(first) ? first : "u" + (code >> 8).toString(16);
}

const [engine, input, outdir] = process.argv.slice(2);
const { default: MiniSearch } = await import(pathToFileURL(engine).href);
const { docs } = JSON.parse(readFileSync(input, "utf8"));
const index = new MiniSearch(OPTIONS);
index.addAll(docs);
const serialized = index.toJSON();
const shards = new Map();
for (const entry of serialized.index) {
  const name = shardOf(entry[0]);
  if (!shards.has(name)) shards.set(name, []);
  shards.get(name).push(entry);
}
serialized.index = [];
mkdirSync(join(outdir, "shards"), { recursive: true });
writeFileSync(join(outdir, "header.json"), JSON.stringify(serialized));
for (const [name, entries] of shards) {
  writeFileSync(join(outdir, "shards", `${name}.json`), JSON.stringify(entries));
}
