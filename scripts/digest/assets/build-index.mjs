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
// MiniSearch keeps its terms in a radix tree (SearchableMap), each term's
// postings as a Map from field id to a Map from document id to frequency. It
// needs the tree for prefix and fuzzy search in the browser, but building the
// index needs neither, and at 10,000 long articles (ten million postings) the
// Maps were most of Node's 1.5 GB. Here addTerm keeps, per term, a plain Map
// from field id to two arrays, document ids and frequencies: documents are
// added in id order, a document's words one field at a time, so a term met
// again in the same field of the same document is always the last id. Field
// ids and terms keep the order in which MiniSearch would have met them, so
// the shards are the same bytes. Nothing here searches, and the worker loads
// the shards into MiniSearch's own structures again (loadShard).
const terms = new Map();
function addTerm(fieldId, documentId, term) {
  let fields = terms.get(term);
  if (fields === undefined) {
    fields = new Map();
    terms.set(term, fields);
  }
  let postings = fields.get(fieldId);
  if (postings === undefined) {
    postings = { ids: [], freqs: [] };
    fields.set(fieldId, postings);
  }
  const last = postings.ids.length - 1;
  if (last >= 0 && postings.ids[last] === documentId) postings.freqs[last] += 1;
  else {
    postings.ids.push(documentId);
    postings.freqs.push(1);
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
index.addTerm = addTerm;
for (const doc of documents(readFileSync(input))) index.add(doc);
// The generated pages (INPUT) are indexed while MkDocs builds the site; the
// hand-written pages, which exist only once MkDocs has built them, arrive on
// standard input afterwards, in the same form, numbered after INPUT's.
for (const doc of documents(readFileSync(0))) index.add(doc);

// index.toJSON() would copy the whole index into plain objects while the
// index is still alive: at 10,000 articles that doubled Node's memory (1.9 GB).
// Instead, the header is serialized with an empty term map (MiniSearch's own
// term map is empty: addTerm above kept the terms), and the terms are
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
const header = JSON.stringify(index.toJSON());

function encode(term, fields) {
  const parts = [term];
  for (const [fieldId, { ids, freqs }] of fields) {
    const postings = [];
    let previous = 0;
    for (let i = 0; i < ids.length; i++) {
      postings.push((ids[i] - previous).toString(36) + (freqs[i] === 1 ? "" : "*" + freqs[i].toString(36)));
      previous = ids[i];
    }
    parts.push(fieldId.toString(36) + ":" + postings.join(","));
  }
  return parts.join("\t");
}

// A shard at a time, each term let go once written, so that the shards' text
// and the whole index are never held together.
const shards = new Map();
for (const term of terms.keys()) {
  const name = shardOf(term);
  if (!shards.has(name)) shards.set(name, []);
  shards.get(name).push(term);
}
mkdirSync(join(outdir, "shards"), { recursive: true });
writeFileSync(join(outdir, "header.json"), header);
for (const [name, names] of shards) {
  const lines = names.map((term) => {
    const line = encode(term, terms.get(term));
    terms.delete(term);
    return line;
  });
  writeFileSync(join(outdir, "shards", `${name}.txt`), lines.join("\n"));
}
