/* Briefing Digest search worker.
 *
 * Material for MkDocs' search box talks to a worker by messages:
 * SETUP (0) -> READY (1), then QUERY (2) -> RESULT (3). This worker answers
 * them from a MiniSearch index built when the site was built, split by the
 * first character of each term (see digest/searchindex.py): setup loads the
 * header and the result list (search/digest_index.js); a query loads only the
 * shards its words start with (search/shards/*.js). Opening a page therefore
 * never indexes the digest in the browser. Without a prebuilt index
 * (mkdocs serve) it indexes the generator's page text instead.
 * It runs in a real Worker and in the iframe-worker shim that the offline
 * edition uses from file://.
 */
"use strict";

// tokenize: digestTokenize, from tokenize.js (search-tokenize.js), once loaded.
var OPTIONS = { fields: ["title", "terms", "text"], storeFields: [] };
var BOOST = { title: 4, terms: 3 };
var LIMIT = 100;
var base = "";
var docs = [];
var header = null;     // the serialized index without its terms
var shardNames = {};   // shards that exist
var engines = {};      // shard name -> MiniSearch, loaded on first use
var whole = null;      // the single engine of the fallback

function here() {
  if (typeof document !== "undefined") {
    var script = document.querySelector("script[src*='search/worker']") || document.querySelector("script[src]");
    return script.src;
  }
  return self.location.href;
}

function load(urls) {
  // importScripts is synchronous in a Worker (and throws there when a file is
  // missing) and returns a promise in the iframe-worker shim.
  try {
    return Promise.resolve(importScripts.apply(self, urls));
  } catch (error) {
    return Promise.reject(error);
  }
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

/* Must match shard_of() in digest/searchindex.py. */
function searchShard(term) {
  var code = term.codePointAt(0);
  var first = String.fromCodePoint(code);
  return /[a-z0-9]/.test(first) ? first : "u" + (code >> 8).toString(16);
}

function fallback(data) {
  // No prebuilt index (mkdocs serve): index here what the generator wrote
  // (digest/assets/search/pages.js, if it loaded) and what Material sent.
  var pages = new Map();
  (self.__digestPages || []).forEach(function (doc) {
    var where = doc.src.replace(/\.md$/, ".html");  // both editions: use_directory_urls: false
    pages.set(where, { location: where, title: doc.title, text: doc.terms + " " + doc.text, tags: doc.tags || [] });
  });
  (data.docs || []).forEach(function (doc) {
    var path = doc.location.split("#")[0];
    var page = pages.get(path);
    if (!page) pages.set(path, page = { location: path, title: plainText(doc.title), text: "", tags: [] });
    page.text += " " + plainText(doc.text);
  });
  docs = [];
  var indexed = [];
  pages.forEach(function (page) {
    indexed.push({ id: docs.length, title: page.title, terms: "", text: page.text });
    docs.push([page.location, page.title, page.text.slice(0, 240), page.tags]);
  });
  whole = new MiniSearch(OPTIONS);
  whole.addAll(indexed);
}

function setup(data) {
  base = here().replace(/[^/]*$/, "");
  return load([base + "minisearch.js", base + "tokenize.js"]).then(function () {
    OPTIONS.tokenize = self.digestTokenize;
    return load([base + "../../../search/digest_index.js"]).then(function () {
      var search = self.__digestSearch;
      docs = search.docs;
      header = JSON.parse(search.header);
      search.shards.forEach(function (name) { shardNames[name] = true; });
      self.__digestSearch = null;
    }, function () {
      return load([base + "pages.js"]).then(function () { fallback(data); }, function () { fallback(data); });
    });
  }).then(function () { return { type: 1 }; });
}

/* A shard (the compact form described in build-index.mjs; it must match
 * decode_shard() in digest/searchindex.py) loaded into a MiniSearch engine
 * made from the header. The terms go straight into the engine's term map,
 * in the structure MiniSearch.loadJS() would build from toJSON() entries
 * (term -> field id -> document id -> frequency): going through those
 * entries took 0.75 s for the largest shard at 10,000 articles, this 0.13 s.
 * minisearch is pinned in package-lock.json; build-index.mjs reads the same
 * map, and the tests compare what this loads with MiniSearch's own index. */
function loadShard(text) {
  var engine = MiniSearch.loadJS(Object.assign({}, header, { index: [] }), OPTIONS);
  var terms = engine._index;
  var lines = text.split("\n");
  for (var l = 0; l < lines.length; l++) {
    var parts = lines[l].split("\t");
    var fields = new Map();
    for (var i = 1; i < parts.length; i++) {
      var colon = parts[i].indexOf(":");
      var postings = parts[i].slice(colon + 1).split(",");
      var freqs = new Map();
      var doc = 0;
      for (var j = 0; j < postings.length; j++) {
        var star = postings[j].indexOf("*");
        doc += parseInt(star < 0 ? postings[j] : postings[j].slice(0, star), 36);
        freqs.set(doc, star < 0 ? 1 : parseInt(postings[j].slice(star + 1), 36));
      }
      fields.set(parseInt(parts[i].slice(0, colon), 36), freqs);
    }
    terms.set(parts[0], fields);
  }
  return engine;
}

function engineFor(name) {
  if (engines[name]) return Promise.resolve(engines[name]);
  if (!shardNames[name]) return Promise.resolve(null);
  return load([base + "../../../search/shards/" + name + ".js"]).then(function () {
    var engine = loadShard(self.__digestShards[name]);
    delete self.__digestShards[name];
    return (engines[name] = engine);
  });
}

function words(query) {
  var process = MiniSearch.getDefault("processTerm");
  return self.digestTokenize(query).map(function (t) { return process(t); }).filter(function (t) { return t; });
}

/* Every word must match; the last may be the start of a word (as you type). */
function search(query) {
  var terms = words(String(query || ""));
  if (!terms.length || (!header && !whole)) return Promise.resolve({ items: [] });
  var lookups = terms.map(function (term, i) {
    var options = { prefix: i === terms.length - 1, boost: BOOST };
    if (whole) return Promise.resolve(whole.search(term, options));
    return engineFor(searchShard(term)).then(function (engine) { return engine ? engine.search(term, options) : []; });
  });
  return Promise.all(lookups).then(function (lists) {
    var score = new Map();
    var matched = new Map();
    lists.forEach(function (results, i) {
      var seen = new Map();
      results.forEach(function (r) { seen.set(r.id, r); });
      var ids = i === 0 ? Array.from(seen.keys()) : Array.from(score.keys()).filter(function (id) { return seen.has(id); });
      var next = new Map();
      ids.forEach(function (id) {
        var r = seen.get(id);
        next.set(id, (score.get(id) || 0) + r.score);
        matched.set(id, (matched.get(id) || []).concat(r.terms));
      });
      score = next;
    });
    var ranked = Array.from(score.entries()).sort(function (a, b) { return b[1] - a[1]; }).slice(0, LIMIT);
    var asked = {};
    terms.forEach(function (t) { asked[t] = true; });
    return {
      items: ranked.map(function (entry) {
        var doc = docs[entry[0]];
        var hits = matched.get(entry[0]) || [];
        var item = { location: doc[0], title: highlight(doc[1], hits), text: highlight(doc[2], hits),
                     score: entry[1], terms: asked };
        // Facets (entities, regions, topics; a hub's kind) show as Material's
        // tags. Material inserts them as HTML, so they are escaped here.
        if (doc[3] && doc[3].length) item.tags = doc[3].map(escapeHtml);
        return [item];
      })
    };
  });
}

function handle(message) {
  if (message.type === 0) return setup(message.data);
  if (message.type === 2) {
    return search(message.data).then(function (data) { return { type: 3, data: data }; }, function () {
      return { type: 3, data: { items: [] } };
    });
  }
  return Promise.reject(new TypeError("Invalid message type"));
}

addEventListener("message", function (event) {
  handle(event.data).then(function (reply) { postMessage(reply); });
});
