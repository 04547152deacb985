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
let docs = JSON.parse(readFileSync(input, "utf8")).docs;
const index = new MiniSearch(OPTIONS);
index.addAll(docs);
docs = null; // the text is in the index now; let it go before serializing

// index.toJSON() would copy the whole index into plain objects while the
// index is still alive: at 10,000 articles that doubled Node's memory (1.9 GB).
// Instead, the header is serialized with an empty term map, and the terms are
// written shard by shard as JSON text, in exactly toJSON()'s entry format
// ([term, {fieldId: {docId: frequency}}]); minisearch is pinned in
// package-lock.json, and the tests search the result in a browser.
const terms = index._index;
index._index = new terms.constructor();
const header = JSON.stringify(index.toJSON());
index._index = terms;
const shards = new Map();
for (const [term, fieldIndex] of terms) {
  const data = {};
  for (const [fieldId, freqs] of fieldIndex) data[fieldId] = Object.fromEntries(freqs);
  const name = shardOf(term);
  if (!shards.has(name)) shards.set(name, []);
  shards.get(name).push(JSON.stringify([term, data]));
}
mkdirSync(join(outdir, "shards"), { recursive: true });
writeFileSync(join(outdir, "header.json"), header);
for (const [name, entries] of shards) {
  writeFileSync(join(outdir, "shards", `${name}.json`), "[" + entries.join(",") + "]");
}
