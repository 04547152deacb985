// Build the digest's search index once, at site-build time, so that no
// browser has to index the whole digest on every page load.
//
// node build-index.mjs MINISEARCH_ESM INPUT OUTPUT
//   MINISEARCH_ESM: the project's node_modules/minisearch/dist/es/index.js
//   INPUT: JSON {"docs": [{"id", "title", "terms", "text"}]}
//   OUTPUT: the serialized MiniSearch index (JSON)
// The options must match search-worker.js beside this file.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const OPTIONS = { fields: ["title", "terms", "text"], storeFields: [] };

const [engine, input, output] = process.argv.slice(2);
const { default: MiniSearch } = await import(pathToFileURL(engine).href);
const { docs } = JSON.parse(readFileSync(input, "utf8"));
const index = new MiniSearch(OPTIONS);
index.addAll(docs);
writeFileSync(output, JSON.stringify(index));
