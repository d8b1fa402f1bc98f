/**
 * The dashboard's script, inlined into the page. It only enhances a page that is
 * complete without it: every {@linkcode POLL_MS} it asks `/status/live` for the
 * server-rendered content (with the ETag it holds, so an unchanged state costs a 304 and
 * no body), swaps it in place keeping the audits the reader opened, and ticks ages and
 * countdowns every second against the server's clock (`data-now`, so a skewed client
 * clock does not matter).
 *
 * Polling rather than a server-sent event stream: the management server cuts any answer
 * that takes longer than its write timeout (10 s) and holds at most 64 connections; a
 * poll is a short request on one kept-alive connection, so the dashboard can never hold
 * slots or be cut, and a closed tab costs nothing.
 *
 * @module
 */

/** How often the page asks for changes. */
export const POLL_MS = 2000;
/**
 * Above this many bytes of content the page asks proportionally less often (up to every
 * 30 s): a proxy of 2,000 endpoints renders about 2.2 MB, which every 2 s would be a
 * steady megabyte a second per open tab.
 */
export const POLL_BYTES = 250_000;

/** The script of `/status`. */
export const DASHBOARD_JS = `
(function () {
  "use strict";
  var etag = null, skew = 0, failures = 0, every = ${POLL_MS};
  var conn = function () { return document.getElementById("conn"); };
  function words(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min " + (s % 60) + " s";
    var h = Math.floor(m / 60);
    if (h < 24) return h + " h " + (m % 60) + " min";
    return Math.floor(h / 24) + " d " + (h % 24) + " h";
  }
  function readSkew(root) {
    var n = Number(root.getAttribute("data-now"));
    if (n) skew = n - Date.now();
  }
  function tick() {
    var now = Date.now() + skew, i, el;
    var agos = document.querySelectorAll("time.ago");
    for (i = 0; i < agos.length; i++) {
      el = agos[i];
      el.textContent = words(now - Number(el.getAttribute("data-at"))) + " ago";
    }
    var untils = document.querySelectorAll("time.until");
    for (i = 0; i < untils.length; i++) {
      el = untils[i];
      var left = Number(el.getAttribute("data-until")) - now;
      el.textContent = left > 0 ? "in " + words(left) : "now";
    }
  }
  function swap(html) {
    var live = document.getElementById("live");
    var open = {};
    var ds = live.querySelectorAll("details[open]");
    for (var i = 0; i < ds.length; i++) open[ds[i].getAttribute("data-key")] = true;
    var t = document.createElement("template");
    t.innerHTML = html;
    var next = t.content.getElementById("live");
    if (!next) return;
    var nd = next.querySelectorAll("details[data-key]");
    for (var j = 0; j < nd.length; j++) if (open[nd[j].getAttribute("data-key")]) nd[j].open = true;
    live.replaceWith(next);
    readSkew(next);
    tick();
  }
  function status(text, down) {
    var c = conn();
    if (!c) return;
    c.textContent = text;
    c.className = down ? "down" : "";
  }
  function poll() {
    var headers = etag ? { "if-none-match": etag } : {};
    fetch("/status/live", { headers: headers, cache: "no-store" }).then(function (res) {
      if (res.status === 304) return null;
      if (!res.ok) throw new Error("status " + res.status);
      etag = res.headers.get("etag");
      return res.text();
    }).then(function (html) {
      failures = 0;
      if (html !== null) {
        every = Math.min(30000, ${POLL_MS} * Math.max(1, html.length / ${POLL_BYTES}));
        swap(html);
      }
      status("live", false);
    }).catch(function (err) {
      failures++;
      status("not reachable (" + err.message + "), retrying", true);
    }).then(function () {
      setTimeout(poll, failures ? Math.min(every * (failures + 1), 30000) : every);
    });
  }
  var root = document.getElementById("live");
  if (root) {
    etag = root.getAttribute("data-etag");
    every = Math.min(30000, ${POLL_MS} * Math.max(1, root.outerHTML.length / ${POLL_BYTES}));
    readSkew(root);
    status("live", false);
    setInterval(tick, 1000);
    setTimeout(poll, every);
  }
})();
`;
