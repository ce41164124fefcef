// One line of detail per resource (lists and popups), in the current language.

import { t } from "../shared/i18n";
import type { Kind, StockRow } from "./data";
import { number } from "./format";

type Props = Record<string, unknown>;

function stockLine(stock: StockRow[], max = 3): string {
  const shown = stock.slice(0, max).map((s) => `${s.item_name} ${number(s.quantity)}${s.unit}`);
  return shown.join("、") + (stock.length > max ? " …" : "");
}

export function details(kind: Kind, p: Props, itemQuery = ""): string {
  if (kind === "shelter") {
    const free = Number(p.free ?? Number(p.capacity) - Number(p.occupancy ?? 0));
    return `${t(`shelter.${p.kind}`)} · ${t("res.free", { free: number(free), capacity: number(Number(p.capacity)) })}`;
  }
  if (kind === "warehouse") {
    const stock = (p.stock as StockRow[] | undefined) ?? [];
    const q = itemQuery.trim();
    const matching = q ? stock.filter((s) => s.quantity > 0 && (s.item === q || s.item_name.includes(q))) : [];
    return matching.length ? stockLine(matching) : t("res.stock.kinds", { n: stock.length });
  }
  if (kind === "team") {
    const members = p.members !== undefined ? ` · ${t("res.members", { n: Number(p.members) })}` : "";
    return `${t(`specialty.${p.specialty}`)}${members}`;
  }
  const title = p.title ? ` · ${p.title}` : "";
  return `${t(`expertise.${p.specialty}`)}${title} · ${p.employer ?? ""}`;
}

/** The phone to ring: the manager, leader or expert. */
export function phone(kind: Kind, p: Props): string | null {
  const value = kind === "team" ? p.leader_phone : kind === "expert" ? p.phone : p.manager_phone;
  return typeof value === "string" ? value : null;
}
