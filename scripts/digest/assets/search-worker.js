/* Briefing Digest search worker.
 *
 * Material for MkDocs' search box talks to a worker by messages:
 * SETUP (0) -> READY (1), then QUERY (2) -> RESULT (3). This worker answers
 * them from a MiniSearch index that was built when the site was built
 * (search/digest_index.js), so opening a page never indexes the whole digest
 * in the browser. Without that file (mkdocs serve), it indexes what Material
 * sent instead. It works in a real Worker and in the iframe-worker shim that
 * the offline edition uses from file://.
 */
"use strict";

var OPTIONS = { fields: ["title", "terms", "text"], storeFields: [] };
var SEARCH = { prefix: true, combineWith: "AND", boost: { title: 4, terms: 3 } };
var LIMIT = 100;
var engine = null;
var docs = [];

function here() {
  if (typeof document !== "undefined") {
    var script = document.querySelector("script[src*='search/worker']") || document.querySelector("script[src]");
    return script.src;
  }
  return self.location.href;
}

function load(urls) {
  // importScripts is synchronous in a Worker and returns a promise in the shim.
  return Promise.resolve(importScripts.apply(self, urls));
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function highlight(text, terms) {
  var html = escapeHtml(text);
  if (!terms.length) return html;
  var pattern = new RegExp("(" + terms.map(function (t) { return escapeRegExp(escapeHtml(t)); }).join("|") + ")", "giu");
  return html.replace(pattern, "<mark>$1</mark>");
}

function plainText(html) {
  return String(html).replace(/<[^>]*>/g, " ").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&").replace(/\s+/g, " ").trim();
}

function fallback(data) {
  // No prebuilt index (mkdocs serve): index here what the generator wrote
  // (digest/assets/search/pages.js, if it loaded) and what Material sent.
  var pages = new Map();
  (self.__digestPages || []).forEach(function (doc) {
    var where = doc.src.replace(/(^|\/)index\.md$/, "$1").replace(/\.md$/, "/");
    pages.set(where, { location: where, title: doc.title, text: doc.terms + " " + doc.text });
  });
  (data.docs || []).forEach(function (doc) {
    var path = doc.location.split("#")[0];
    var page = pages.get(path);
    if (!page) pages.set(path, page = { location: path, title: plainText(doc.title), text: "" });
    page.text += " " + plainText(doc.text);
  });
  docs = [];
  var indexed = [];
  pages.forEach(function (page) {
    indexed.push({ id: docs.length, title: page.title, terms: "", text: page.text });
    docs.push([page.location, page.title, page.text.slice(0, 240)]);
  });
  engine = new MiniSearch(OPTIONS);
  engine.addAll(indexed);
}

function setup(data) {
  var base = here().replace(/[^/]*$/, "");
  return load([base + "minisearch.js"]).then(function () {
    return load([base + "../../../search/digest_index.js"]).then(function () {
      docs = self.__digestSearch.docs;
      engine = MiniSearch.loadJSON(self.__digestSearch.index, OPTIONS);
      self.__digestSearch = null;
    }, function () {
      return load([base + "pages.js"]).then(function () { fallback(data); }, function () { fallback(data); });
    });
  }).then(function () { return { type: 1 }; });
}

function search(query) {
  var text = String(query || "").trim();
  if (!engine || !text) return { type: 3, data: { items: [] } };
  var results = engine.search(text, SEARCH).slice(0, LIMIT);
  var items = results.map(function (result) {
    var doc = docs[result.id];
    var terms = {};
    result.queryTerms.forEach(function (t) { terms[t] = true; });
    return [{
      location: doc[0],
      title: highlight(doc[1], result.terms),
      text: highlight(doc[2], result.terms),
      score: result.score,
      terms: terms
    }];
  });
  return { type: 3, data: { items: items } };
}

function handle(message) {
  if (message.type === 0) return setup(message.data);
  if (message.type === 2) return Promise.resolve(search(message.data));
  return Promise.reject(new TypeError("Invalid message type"));
}

addEventListener("message", function (event) {
  handle(event.data).then(function (reply) { postMessage(reply); });
});
