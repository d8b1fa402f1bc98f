/**
 * Just enough XML for the AWS stand-in: building answers (escaped element trees) and
 * reading Route 53's request bodies (elements and text; attributes, comments and
 * namespaces ignored).
 *
 * @module
 */

/** Escapes text for an element's content. */
export function esc(s: string | number): string {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** A value to render: text, a list of children (each `<member>`/`<item>`), or nested tags. */
export type XmlValue =
  | string
  | number
  | boolean
  | undefined
  | readonly XmlValue[]
  | { readonly [tag: string]: XmlValue };

/**
 * Renders `value` under `tag`. Arrays become repeated `item` elements (`<member>` for the
 * query protocol, `<item>` for EC2, or the given name).
 *
 * @example
 * ```ts
 * xml("A", { B: "x", C: ["1", "2"] }, "member"); // "<A><B>x</B><C><member>1</member><member>2</member></C></A>"
 * ```
 */
export function xml(tag: string, value: XmlValue, item = "member"): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) {
    return `<${tag}>${value.map((v) => xml(item, v, item)).join("")}</${tag}>`;
  }
  if (typeof value === "object") {
    const inner = Object.entries(value as Record<string, XmlValue>)
      .map(([k, v]) => xml(k, v, item)).join("");
    return `<${tag}>${inner}</${tag}>`;
  }
  return `<${tag}>${esc(value as string | number | boolean as string)}</${tag}>`;
}

/** A parsed element. */
export interface XmlNode {
  readonly name: string;
  readonly children: XmlNode[];
  text: string;
}

function unescape(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e === "lt") return "<";
    if (e === "gt") return ">";
    if (e === "amp") return "&";
    if (e === "quot") return '"';
    if (e === "apos") return "'";
    return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

/** Parses an XML document into its root element. Throws on malformed input. */
export function parseXml(text: string): XmlNode {
  const root: XmlNode = { name: "#root", children: [], text: "" };
  const stack: XmlNode[] = [root];
  const re = /<\?[^>]*\?>|<!--[\s\S]*?-->|<\/([^\s>]+)\s*>|<([^\s/>]+)[^>]*?(\/)?>|([^<]+)/g;
  for (const m of text.matchAll(re)) {
    const [, close, open, selfClosing, txt] = m;
    const top = stack[stack.length - 1];
    if (close) {
      const local = close.replace(/^.*:/, "");
      if (top.name !== local) throw new Error(`unexpected </${close}>`);
      stack.pop();
    } else if (open) {
      const node: XmlNode = { name: open.replace(/^.*:/, ""), children: [], text: "" };
      top.children.push(node);
      if (!selfClosing) stack.push(node);
    } else if (txt) top.text += unescape(txt);
  }
  if (stack.length !== 1 || root.children.length !== 1) throw new Error("malformed XML");
  return root.children[0];
}

/** The first child named `name`. */
export function child(n: XmlNode | undefined, name: string): XmlNode | undefined {
  return n?.children.find((c) => c.name === name);
}

/** Every child named `name`. */
export function children(n: XmlNode | undefined, name: string): XmlNode[] {
  return n?.children.filter((c) => c.name === name) ?? [];
}

/** The trimmed text of the child named `name`, or undefined. */
export function text(n: XmlNode | undefined, name: string): string | undefined {
  const c = child(n, name);
  return c === undefined ? undefined : c.text.trim();
}
