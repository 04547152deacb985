// Build the digest's search index once, at site-build time, so that no
// browser has to index the whole digest on every page load.
//
// node build-index.mjs MINISEARCH_ESM INPUT OUTDIR < MORE
//   MINISEARCH_ESM: the project's node_modules/minisearch/dist/es/index.js
//   INPUT, MORE: JSON Lines, a document {"id", "title", "terms", "text"} a line
//   OUTDIR: receives header.json (the serialized index without its terms)
//           and shards/<name>.txt (the terms, split by first character, in
//           the compact form below)
// The options must match search-worker.js beside this file.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";

// Must match shard_of() in searchindex.py and searchShard() in search-worker.js.
function shardOf(term) {
  const code = term.codePointAt(0);
  const first = String.fromCodePoint(code);
  return /[a-z0-9]/.test(first) ? first : "u" + (code >> 8).toString(16);
}

const [engine, input, outdir] = process.argv.slice(2);
const { default: MiniSearch } = await import(pathToFileURL(engine).href);
// The worker's word splitting (search-tokenize.js beside this file), so that
// queries are split as the text was.
globalThis.MiniSearch = MiniSearch;
vm.runInThisContext(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "search-tokenize.js"), "utf8"));
const OPTIONS = { fields: ["title", "terms", "text"], storeFields: [], tokenize: globalThis.digestTokenize };
// MiniSearch keeps its terms in a radix tree (SearchableMap), which it needs
// for prefix and fuzzy search in the browser; building the index needs only
// fetch(term, create) on it, and a plain Map does that several times faster.
// Nothing here searches, and the worker loads the shards into a radix tree
// again (loadShard), so the index the browser searches is the same.
class TermMap extends Map {
  fetch(term, create) {
    let value = this.get(term);
    if (value === undefined) {
      value = create();
      this.set(term, value);
    }
    return value;
  }
}

// One document a line, parsed and indexed one at a time: Node never holds
// all the text at once, as one string or as objects (at 10,000 long articles
// that was 2.4 GB at the peak; a line at a time, 1.5 GB).
function* documents(buffer) {
  let start = 0;
  while (start < buffer.length) {
    let end = buffer.indexOf(10, start);
    if (end < 0) end = buffer.length;
    if (end > start) yield JSON.parse(buffer.toString("utf8", start, end));
    start = end + 1;
  }
}

const index = new MiniSearch(OPTIONS);
index._index = new TermMap();
for (const doc of documents(readFileSync(input))) index.add(doc);
// The generated pages (INPUT) are indexed while MkDocs builds the site; the
// hand-written pages, which exist only once MkDocs has built them, arrive on
// standard input afterwards, in the same form, numbered after INPUT's.
for (const doc of documents(readFileSync(0))) index.add(doc);

// index.toJSON() would copy the whole index into plain objects while the
// index is still alive: at 10,000 articles that doubled Node's memory (1.9 GB).
// Instead, the header is serialized with an empty term map, and the terms are
// written shard by shard. toJSON()'s entry format ([term, {fieldId: {docId:
// frequency}}], as JSON) spends most of its bytes on quotes and repeated
// document ids, so a shard is written compactly instead, one term a line:
//
//   term TAB field:postings [TAB field:postings ...]
//
// with the field id in base 36 and the postings separated by commas, each the
// document id minus the previous one (ids ascending) in base 36, followed by
// "*" and the frequency in base 36 when that is not 1. Terms never hold a line
// break (MiniSearch splits words there) or a tab (searchindex.py turns tabs
// into spaces before indexing: MiniSearch would keep them inside words).
// The worker (loadShard) reads it straight into a MiniSearch term map; the shards
// are a fifth of the size they were as toJSON() text in a JavaScript string.
// minisearch is pinned in package-lock.json, and the tests check the decoded
// entries against toJSON() and search the result in a browser.
const terms = index._index;
index._index = new TermMap();
const header = JSON.stringify(index.toJSON());
index._index = terms;

function encode(term, fieldIndex) {
  const parts = [term];
  for (const [fieldId, freqs] of fieldIndex) {
    const ids = Array.from(freqs.keys()).sort((a, b) => a - b);
    const postings = [];
    let previous = 0;
    for (const id of ids) {
      const frequency = freqs.get(id);
      postings.push((id - previous).toString(36) + (frequency === 1 ? "" : "*" + frequency.toString(36)));
      previous = id;
    }
    parts.push(fieldId.toString(36) + ":" + postings.join(","));
  }
  return parts.join("\t");
}

const shards = new Map();
for (const [term, fieldIndex] of terms) {
  const name = shardOf(term);
  if (!shards.has(name)) shards.set(name, []);
  shards.get(name).push(encode(term, fieldIndex));
}
mkdirSync(join(outdir, "shards"), { recursive: true });
writeFileSync(join(outdir, "header.json"), header);
for (const [name, lines] of shards) {
  writeFileSync(join(outdir, "shards", `${name}.txt`), lines.join("\n"));
}
