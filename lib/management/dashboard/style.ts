/**
 * The dashboard's stylesheet, inlined into the page (no external assets: the management
 * port may be reached where nothing else is). Laid out for 1280 px: fixed table layouts,
 * long names cut with an ellipsis (the whole text on hover).
 *
 * @module
 */

/** The CSS of `/status`. */
export const DASHBOARD_CSS = `
*{box-sizing:border-box}
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#1d232a;background:#f4f6f8}
header{display:flex;gap:1.5em;align-items:baseline;flex-wrap:wrap;background:#1d2b3a;color:#eef;padding:.6em 1.2em}
header h1{font-size:18px;margin:0}header a{color:#9cf}
#live{padding:.5em 1.2em 2em}
h2{font-size:15px;margin:1.2em 0 .4em}h3{font-size:13px;margin:.8em 0 .3em}
section.server{background:#fff;border:1px solid #d6dbe0;border-radius:4px;padding:.2em .8em .6em;margin:.8em 0}
table{border-collapse:collapse;width:100%;table-layout:fixed;background:#fff}
td,th{border-bottom:1px solid #e3e6e9;padding:3px 6px;text-align:left;vertical-align:top;overflow:hidden}
th{background:#eef1f4;font-weight:600}
.trunc{display:inline-block;max-width:100%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom}
col.c-name{width:20%}col.c-pool{width:6%}col.c-weight{width:15%}col.c-traffic{width:6%}
col.c-health{width:19%}col.c-start{width:11%}col.c-source{width:15%}col.c-audit{width:8%}
col.c-sname{width:22%}col.c-sstate{width:24%}col.c-zk{width:22%}col.c-session{width:12%}
col.c-event{width:9%}col.c-from{width:11%}
.bar{display:inline-block;width:110px;height:10px;background:#e6e9ec;border-radius:2px;vertical-align:middle;overflow:hidden}
.fill{display:block;height:100%;background:#3b82c4}
tr.pool-standby .fill,tr.pool-overflow .fill{background:#9a6fc4}
.ramp{display:inline-block;width:60px;height:6px;background:#e6e9ec;vertical-align:middle}
.rampfill{display:block;height:100%;background:#d39b2a}
.state{font-weight:600;padding:0 4px;border-radius:3px}
tr.h-healthy .state{background:#d8f3dc;color:#1b6e2d}
tr.h-unhealthy{background:#fdeceb}tr.h-unhealthy .state{background:#f6c5c1;color:#a11b12}
tr.h-initializing .state,tr.h-unchecked .state{background:#fdf0cf;color:#8a5a00}
tr.h-none .state{color:#778}
tr.pool-off,tr.skipped{color:#8a9199}
tr.bad td:first-child{border-left:3px solid #c0392b}
.zk-connected{color:#1b6e2d}.zk-connecting,.zk-disconnected,.zk-expired,.zk-closed{color:#a11b12;font-weight:600}
td.fallback{color:#8a5a00;font-weight:600}
details pre{white-space:pre-wrap;font:11px/1.3 monospace;margin:.3em 0;word-break:break-all}
summary{cursor:pointer;color:#3b6ea5}
.notes,.empty{color:#5b636b}.warn{color:#a11b12;font-weight:600}
.h-ok{color:#1b6e2d}.h-degraded{color:#8a5a00}.h-failed{color:#a11b12}
.p-running{color:#1b6e2d}.p-starting,.p-restarting,.p-stopped{color:#8a5a00}.p-failed{color:#a11b12}
.lines{margin:.3em 0;color:#5b636b}
.cols{display:flex;gap:1.2em;align-items:flex-start}.half{flex:1;min-width:0}
ol.timeline{list-style:none;padding:0;margin:0;background:#fff;border:1px solid #d6dbe0;max-height:28em;overflow:auto}
ol.timeline li{padding:2px 6px;border-bottom:1px solid #eef0f2;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.ev-join .what{color:#1b6e2d}.ev-leave .what,.ev-out .what,.ev-invalid .what,.ev-failed .what{color:#a11b12}
.ev-in .what{color:#1b6e2d}time{color:#5b636b}
#conn{font-size:12px;color:#9ab}#conn.down{color:#ff8f87}
`;
