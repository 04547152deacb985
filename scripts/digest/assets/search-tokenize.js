/* How the digest's search splits text into words, for the index and for
 * queries alike: MiniSearch's own tokenizer (spaces and punctuation), except
 * that Chinese and Japanese, written without spaces between words, are split
 * into overlapping pairs of characters. Without that, "北京市长访问" was one
 * word, found only by typing its start; now "市长" finds it, and a longer
 * query must match each of its pairs. A run of one character stays as it is.
 *
 * One file for both sides, so they cannot drift apart: the worker loads it
 * with importScripts, build-index.mjs runs it with node:vm. It defines
 * digestTokenize(text) on the global object, for MiniSearch's `tokenize`
 * option (MiniSearch must be loaded first).
 */
(function (global) {
  "use strict";
  // Han (with extension A and compatibility ideographs), hiragana, katakana.
  var RUN = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/g;

  function pairs(run, out) {
    if (run.length === 1) {
      out.push(run);
      return;
    }
    for (var i = 0; i + 1 < run.length; i++) out.push(run.slice(i, i + 2));
  }

  global.digestTokenize = function (text) {
    var out = [];
    global.MiniSearch.getDefault("tokenize")(text).forEach(function (token) {
      RUN.lastIndex = 0;
      if (!RUN.test(token)) {
        out.push(token);
        return;
      }
      // Letters and digits around the run ("GDP增长率") stay words of their own.
      var last = 0;
      token.replace(RUN, function (run, at) {
        if (at > last) out.push(token.slice(last, at));
        pairs(run, out);
        last = at + run.length;
        return run;
      });
      if (last < token.length) out.push(token.slice(last));
    });
    return out;
  };
})(typeof self !== "undefined" ? self : globalThis);
