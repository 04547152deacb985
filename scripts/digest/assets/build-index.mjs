// Build the digest's search index once, at site-build time, so that no
// browser has to index the whole digest on every page load.
//
// node build-index.mjs MINISEARCH_ESM INPUT OUTDIR < MORE
// node build-index.mjs MINISEARCH_ESM - - < {"outdir": OUTDIR} and the documents
//   MINISEARCH_ESM: the project's node_modules/minisearch/dist/es/index.js
//   INPUT, MORE: JSON Lines, a document {"id", "title", "terms", "text"} a line
//   OUTDIR: receives shards/<name>.txt (the terms, split by first character,
//           in the compact form below) and vectors.txt (each document's
//           terms, for searchindex.py to update the shards incrementally)
//   The second form is for a process started before its work is known
//   (searchindex.Builder): it loads MiniSearch meanwhile, then reads its
//   output folder and every document on standard input.
// The ids are searchindex.py's (doc_ids): stable across builds, not the
// order of the input. The header (field lengths and their averages) is
// written by searchindex.py from vectors.txt.
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

const [engine, input] = process.argv.slice(2);
let outdir = process.argv[4];
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
// from field id to two arrays, document ids and frequencies: a document's
// words are added one after another, so a term met again in the same field
// of the same document is always the last id. Nothing here searches, and the
// worker loads the shards into MiniSearch's own structures again (loadShard).
const terms = new Map();
let current = null; // the document being added: its id, field lengths and (term, field) postings met
function addTerm(fieldId, _shortId, term) {
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
  if (last >= 0 && postings.ids[last] === current.id) postings.freqs[last] += 1;
  else {
    postings.ids.push(current.id);
    postings.freqs.push(1);
    current.met.push(term, fieldId, postings);
  }
}
// MiniSearch's running average of field lengths depends on the order the
// documents came in; searchindex.py computes the header from the lengths.
function addFieldLength(_shortId, fieldId, _count, length) {
  current.lengths[fieldId] = length;
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

// vectors.txt, a document a line: its id, its three field lengths, then each
// (field, term) it holds with the term's frequency there, tab-separated:
//   id TAB title,terms,text TAB field:frequency:term [TAB ...]
// (numbers in base 36; a term holds no tab or line break, see below).
const vectors = [];
const index = new MiniSearch(OPTIONS);
index.addTerm = addTerm;
index.addFieldLength = addFieldLength;
function add(doc) {
  current = { id: doc.id, lengths: [0, 0, 0], met: [] };
  index.add(doc);
  const parts = [doc.id.toString(36), current.lengths.map((n) => n.toString(36)).join(",")];
  const met = current.met;
  for (let i = 0; i < met.length; i += 3) {
    const freqs = met[i + 2].freqs;
    parts.push(met[i + 1].toString(36) + ":" + freqs[freqs.length - 1].toString(36) + ":" + met[i]);
  }
  vectors.push(parts.join("\t"));
}
if (input === "-") {
  const given = readFileSync(0);
  const end = given.indexOf(10);
  outdir = JSON.parse(given.toString("utf8", 0, end)).outdir;
  for (const doc of documents(given.subarray(end + 1))) add(doc);
} else {
  for (const doc of documents(readFileSync(input))) add(doc);
  // The generated pages (INPUT) are indexed while MkDocs builds the site; the
  // hand-written pages, which exist only once MkDocs has built them, arrive on
  // standard input afterwards, in the same form.
  for (const doc of documents(readFileSync(0))) add(doc);
}
current = null;

// toJSON()'s entry format ([term, {fieldId: {docId: frequency}}], as JSON)
// spends most of its bytes on quotes and repeated document ids, so a shard is
// written compactly instead, one term a line:
//
//   term TAB field:postings [TAB field:postings ...]
//
// with the field id in base 36 and the postings separated by commas, each the
// document id minus the previous one (ids ascending) in base 36, followed by
// "*" and the frequency in base 36 when that is not 1. Terms never hold a line
// break (MiniSearch splits words there) or a tab (searchindex.py turns tabs
// into spaces before indexing: MiniSearch would keep them inside words).
// Lines are in the order of their terms' UTF-16 code units (JavaScript's
// sort), fields by id: an order that depends on the terms alone, not on
// which document met a term first, so that searchindex.py can update a
// shard's lines for a changed document and give these same bytes.
// The worker (loadShard) reads it straight into a MiniSearch term map; the
// shards are a fifth of the size they were as toJSON() text. minisearch is
// pinned in package-lock.json, and the tests check the decoded entries
// against toJSON() and search the result in a browser.
function encode(term, fields) {
  const parts = [term];
  for (const fieldId of Array.from(fields.keys()).sort((a, b) => a - b)) {
    let { ids, freqs } = fields.get(fieldId);
    // Documents came in the input's order, not always by id (the
    // hand-written pages come last).
    for (let i = 1; i < ids.length; i++) {
      if (ids[i] < ids[i - 1]) {
        const order = ids.map((_, k) => k).sort((a, b) => ids[a] - ids[b]);
        ids = order.map((k) => ids[k]);
        freqs = order.map((k) => freqs[k]);
        break;
      }
    }
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
writeFileSync(join(outdir, "vectors.txt"), vectors.join("\n"));
vectors.length = 0;
for (const [name, names] of shards) {
  names.sort();
  const lines = names.map((term) => {
    const line = encode(term, terms.get(term));
    terms.delete(term);
    return line;
  });
  writeFileSync(join(outdir, "shards", `${name}.txt`), lines.join("\n"));
}
