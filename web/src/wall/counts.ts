// The four level boxes: how many warnings of each colour are in force.

import { WARNING_COLOURS, WARNING_ORDER } from "../shared/colours";
import { applyI18n, t } from "../shared/i18n";
import type { WarningFeature } from "./data";

export function buildCounts(root: HTMLElement): void {
  root.replaceChildren();
  for (const colour of WARNING_ORDER) {
    const box = document.createElement("div");
    box.className = "level";
    box.dataset.colour = colour;
    box.style.setProperty("--level", WARNING_COLOURS[colour]);
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = "–";
    const label = document.createElement("span");
    label.className = "label";
    label.dataset.i18n = `wall.level.${colour}`;
    box.append(count, label);
    root.append(box);
  }
  applyI18n(root);
}

export function renderCounts(root: HTMLElement, warnings: WarningFeature[]): void {
  const n: Record<string, number> = { red: 0, orange: 0, yellow: 0, blue: 0 };
  for (const w of warnings) n[w.properties.colour] = (n[w.properties.colour] ?? 0) + 1;
  for (const colour of WARNING_ORDER) {
    const box = root.querySelector<HTMLElement>(`[data-colour="${colour}"]`)!;
    box.querySelector(".count")!.textContent = String(n[colour]);
    box.classList.toggle("zero", n[colour] === 0);
    box.setAttribute("aria-label", `${t(`wall.level.${colour}`)} ${n[colour]}`);
  }
}
