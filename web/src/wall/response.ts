// The emergency-response strip (应急响应) on the wall's side: the highest response level in
// progress in the region with its plan and county ("防汛抗旱 Ⅲ级应急响应 · 麻阳苗族自治县", in the
// level's conventional colour, always written 级应急响应 so it is not read as a warning colour),
// the other responses in progress on a line each, the tasks done of all of them and the overdue
// ones (red and large when there are any). Hidden while no response is in progress, and for the
// public (responses are internal).
// Contract: `#response-box` with data-level (the highest, 1 = Ⅰ … 4 = Ⅳ), data-plan,
// data-county, data-responses (how many in progress), data-tasks, data-tasks-done,
// data-tasks-overdue (sums over them); `.overdue[data-count]`.

import { lang, t } from "../shared/i18n";
import { byLevel, levelColour, levelLabel, planShort, type ResponseSummary } from "../shared/responses";

function span(cls: string, text: string): HTMLSpanElement {
  const el = document.createElement("span");
  el.className = cls;
  el.textContent = text;
  return el;
}

export function renderResponses(box: HTMLElement, responses: ResponseSummary[]): void {
  const active = responses.filter((r) => r.status === "active" && r.level !== null).sort(byLevel);
  box.hidden = active.length === 0;
  if (box.hidden) {
    box.replaceChildren();
    for (const k of ["level", "plan", "county", "responses", "tasks", "tasksDone", "tasksOverdue"]) delete box.dataset[k];
    return;
  }
  const zh = lang() === "zh";
  const top = active[0];
  const sum = (f: (r: ResponseSummary) => number) => active.reduce((s, r) => s + f(r), 0);
  const tasks = sum((r) => r.tasks);
  const done = sum((r) => r.tasks_done);
  const overdue = sum((r) => r.tasks_overdue);
  Object.assign(box.dataset, {
    level: String(top.level),
    plan: top.plan_id,
    county: top.county_code,
    responses: String(active.length),
    tasks: String(tasks),
    tasksDone: String(done),
    tasksOverdue: String(overdue),
  });
  box.style.setProperty("--rc", levelColour(top.level));
  box.dataset.colour = ["", "red", "orange", "yellow", "blue"][top.level ?? 4] ?? "blue";

  const head = document.createElement("h2");
  head.append(span("", t("wall.resp.title")));
  const main = document.createElement("div");
  main.className = "resp-main";
  main.append(span("plan", planShort(top, zh)), span("level", levelLabel(top.level)));
  const where = span("where", top.county_name ?? top.county_code);
  main.append(where);

  const others = document.createElement("ul");
  others.className = "resp-others";
  for (const r of active.slice(1, 4)) {
    const li = document.createElement("li");
    li.style.setProperty("--rc", levelColour(r.level));
    li.dataset.level = String(r.level);
    li.append(span("level", levelLabel(r.level)), span("plan", `${planShort(r, zh)} · ${r.county_name ?? r.county_code}`));
    others.append(li);
  }
  if (active.length > 4) {
    const li = document.createElement("li");
    li.className = "more";
    li.textContent = t("wall.resp.more", { n: active.length - 4 });
    others.append(li);
  }

  const foot = document.createElement("div");
  foot.className = "resp-tasks";
  foot.append(span("done", t("wall.resp.tasks", { done, total: tasks })));
  const late = span(overdue > 0 ? "overdue late" : "overdue none", overdue > 0 ? t("wall.resp.overdue", { n: overdue }) : t("wall.resp.no_overdue"));
  late.dataset.count = String(overdue);
  foot.append(late);
  box.replaceChildren(head, main, ...(others.childElementCount ? [others] : []), foot);
}
