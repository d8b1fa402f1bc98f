/**
 * The small HTML helpers the dashboard renders with: escaping (endpoint hosts, source
 * names and error texts come from outside and must never become markup), truncated text
 * with the whole of it on hover, and ages and countdowns the page's script keeps ticking.
 *
 * @module
 */

const ESC: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * HTML-escapes text, for element content and quoted attribute values alike.
 *
 * @example
 * ```ts
 * esc('<img src=x onerror="alert(1)">'); // "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
 * ```
 */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ESC[c]);
}

/** Text cut with an ellipsis by CSS when too wide, the whole of it in `title`. */
export function trunc(s: string, cls = ""): string {
  return `<span class="trunc${cls ? ` ${cls}` : ""}" title="${esc(s)}">${esc(s)}</span>`;
}

/**
 * A duration in words: `12 s`, `3 min 5 s`, `2 h 10 min`, `4 d 3 h`.
 *
 * @example
 * ```ts
 * duration(185_000); // "3 min 5 s"
 * ```
 */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** "12 s ago" at `now`, kept current by the script (`data-at`); the time itself on hover. */
export function ago(at: number, now: number): string {
  const iso = new Date(at).toISOString();
  return `<time class="ago" data-at="${at}" datetime="${iso}" title="${iso}">${
    duration(now - at)
  } ago</time>`;
}

/** "in 12 s" at `now` (or "now" once passed), kept counting down by the script. */
export function countdown(until: number, now: number): string {
  const iso = new Date(until).toISOString();
  const left = until - now;
  return `<time class="until" data-until="${until}" datetime="${iso}" title="${iso}">${
    left > 0 ? `in ${duration(left)}` : "now"
  }</time>`;
}

/** A percentage with one decimal. */
export const pct = (f: number): string => `${(f * 100).toFixed(1)}%`;
