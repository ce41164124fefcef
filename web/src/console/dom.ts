// A tiny element builder: h("p", { class: "x" }, "text", child) — attributes as strings,
// children as nodes or text (null and false are skipped).

export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) node.setAttribute(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

/** A number for people to read: 12,345 (zh and en alike); "—" when missing. */
export function num(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** The last item (Array.prototype.at is ES2022; the build targets ES2021). */
export function last<T>(items: readonly T[]): T | undefined {
  return items[items.length - 1];
}
