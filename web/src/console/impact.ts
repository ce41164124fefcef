// A warning's impact summary: people and households, schools, shelters with free places and the
// capacity gap, rescue teams, hazard points, and the responsible persons to call.

import { t } from "../shared/i18n";
import { h, num } from "./dom";
import type { Contact, Impact } from "./types";

const CONTACTS_SHOWN = 6;

function stat(key: string, value: string, cls = "", params?: Record<string, string | number>): HTMLElement {
  return h("div", { class: `stat ${cls}`, "data-stat": key.replace("impact.", "") }, h("dt", {}, t(key, params)), h("dd", {}, value));
}

export function contactLine(c: Contact, withPlace = false): HTMLElement {
  const roleKey = `role.${c.role}`;
  const role = t(roleKey) === roleKey ? (c.title ?? c.role) : t(roleKey);
  return h(
    "li",
    {},
    h("span", { class: "who" }, c.name),
    ` ${role}`,
    withPlace && c.concerns_name ? h("span", { class: "muted" }, ` · ${c.concerns_name}`) : null,
    c.phone ? h("a", { href: `tel:${c.phone}`, class: "phone" }, c.phone) : null,
  );
}

export function impactSummary(impact: Impact | null | undefined): HTMLElement {
  if (!impact || impact.error || !impact.totals) {
    return h("p", { class: "muted" }, impact?.error ? `${t("impact.none")}: ${impact.error}` : t("impact.none"));
  }
  const tot = impact.totals;
  const evac = impact.evacuation;
  const teams = impact.rescue_teams;
  const shelters = impact.shelters ?? [];
  const gap = evac?.gap ?? 0;
  const list = h(
    "dl",
    { class: "stats" },
    stat("impact.people", `${num(tot.population)}${evac ? ` · ${t("impact.to_move")} ${num(evac.people_to_move)}` : ""}`),
    stat("impact.households", num(tot.households)),
    stat("impact.schools", `${num(tot.schools)} / ${num(tot.kindergartens)}`),
    stat("impact.clinics", num(tot.clinics)),
    stat("impact.shelters", evac ? num(evac.free_within_reach) : "—", "", { km: evac?.reach_km ?? "—" }),
    stat("impact.shelters_used", num(shelters.length)),
    stat("impact.gap", num(gap), gap > 0 ? "bad" : "good"),
    stat(
      "impact.teams",
      teams ? `${num(teams.teams.length)}${teams.short > 0 ? ` · ${t("impact.teams_short", { n: teams.short })}` : ""}` : "—",
      teams && teams.short > 0 ? "bad" : "",
    ),
    stat("impact.hazard_points", impact.hazard_points ? `${num(impact.hazard_points.count)} (${num(impact.hazard_points.threatened_people)})` : "—"),
  );
  const contacts = impact.contacts ?? [];
  const people = h(
    "div",
    { class: "contacts" },
    h("h5", {}, `${t("impact.responsible")} (${contacts.length})`),
    h("ul", {}, ...contacts.slice(0, CONTACTS_SHOWN).map((c) => contactLine(c, true))),
  );
  return h("div", { class: "impact" }, list, contacts.length ? people : null);
}
