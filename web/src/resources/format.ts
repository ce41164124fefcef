// Small formatting helpers shared by the lists and popups.

import { lang } from "../shared/i18n";

/** 850 m, 3.2 km, 12 km */
export function distance(m: number): string {
  if (m < 1000) return `${Math.round(m)} m`;
  return `${(m / 1000).toFixed(m < 10_000 ? 1 : 0)} km`;
}

export function number(n: number): string {
  return n.toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB");
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}
