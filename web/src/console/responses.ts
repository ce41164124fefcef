// The emergency-response panel #responses (应急响应), above the review queue: the responses in
// progress and those the plans propose, the highest level first. Each card: the level (Ⅰ–Ⅳ, always
// written 级应急响应, never as a warning colour), plan, county, start, tasks done / total and the
// overdue ones; a pending proposal with 采纳 / 不采纳 for users who may `respond`; on opening, the
// tasks (assignee, deadline, state, 签收 / 完成 for users who may `task`) and the timeline.
// Commanders also raise, lower or end an active response. Every action asks for a reason or
// note (#response-dialog); the API decides (403 / 409 shown in the dialog). Refreshed on live
// `response` events.
// Contract (tests): `#response-list li.response[data-response-id]` with data-status, data-level
// (1–4, "" before the start), data-tasks, data-tasks-done, data-tasks-acknowledged,
// data-tasks-overdue; `.proposal[data-proposal-id] button[data-action=accept|dismiss]`;
// `details.response-detail` → `li.task[data-task-id]` with data-status and data-overdue,
// `button[data-action=ack|done]`; `ol.timeline li[data-kind]`; the dialog's
// textarea[name=reason] and #response-submit.

import { api } from "../shared/api";
import { applyI18n, lang, t } from "../shared/i18n";
import {
  byLevel,
  levelColour,
  levelColourName,
  levelLabel,
  planShort,
  roman,
  type ResponseDetail,
  type ResponseSummary,
  type ResponseTask,
  type TimelineEntry,
} from "../shared/responses";
import { formatShort } from "../shared/time";
import { errorText } from "./actions";
import { h } from "./dom";

type Kind = "accept" | "dismiss" | "raise" | "lower" | "end" | "ack" | "done";

interface Pending {
  kind: Kind;
  response: ResponseSummary;
  /** the proposal (accept, dismiss) or the task (ack, done) */
  target: number | null;
  opener: HTMLElement | null;
}

export class ResponsePanel {
  private responses: ResponseSummary[] = [];
  private loaded = false;
  private error: string | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** ids whose details are open, and the details loaded */
  private readonly open = new Set<number>();
  private readonly details = new Map<number, ResponseDetail>();
  private pending: Pending | null = null;

  /** `may(permission)`: what the signed-in user may do (from /api/me); `onDone(text)` after an
   * action succeeded. */
  constructor(
    private readonly section: HTMLElement,
    private readonly may: (permission: string) => boolean,
    private readonly onDone: (text: string) => void,
  ) {
    this.wireDialog();
  }

  /** Reload the list and the open details (calls made while one runs fold into one more). */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.load().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.running;
  }

  /** Whether any response is in progress (the page looks again every minute for overdue tasks). */
  get active(): boolean {
    return this.responses.some((r) => r.status === "active");
  }

  private async load(): Promise<void> {
    try {
      const list = await api<ResponseSummary[]>("/api/responses?status=active&status=proposed&limit=100");
      this.responses = list.sort(byLevel);
      this.error = null;
      const ids = new Set(list.map((r) => r.id));
      for (const id of [...this.details.keys()]) if (!ids.has(id)) this.details.delete(id);
      await Promise.all(
        [...this.open].filter((id) => ids.has(id)).map(async (id) => {
          try {
            this.details.set(id, await api<ResponseDetail>(`/api/responses/${id}`));
          } catch (err) {
            console.warn(`response ${id}:`, err);
          }
        }),
      );
    } catch (err) {
      this.error = errorText(err);
    }
    this.loaded = true;
    this.render();
  }

  render(): void {
    const list = this.section.querySelector<HTMLOListElement>("#response-list")!;
    const status = this.section.querySelector<HTMLElement>("#responses-status")!;
    const count = this.section.querySelector<HTMLElement>("#responses-count")!;
    // keep the place of whoever is reading: the focused button comes back after the redraw
    const focused = document.activeElement instanceof HTMLElement && list.contains(document.activeElement) ? selectorOf(document.activeElement) : null;
    list.replaceChildren(...this.responses.map((r) => this.card(r)));
    const active = this.responses.filter((r) => r.status === "active").length;
    count.textContent = this.loaded && !this.error && active ? t("resp.count", { n: active }) : "";
    const notes: HTMLElement[] = [];
    if (this.error) notes.push(h("p", { class: "error", role: "alert" }, t("resp.failed", { detail: this.error })));
    else if (!this.loaded) notes.push(h("p", { class: "muted" }, t("queue.loading")));
    else if (this.responses.length === 0) notes.push(h("p", { class: "muted" }, t("resp.none")));
    status.replaceChildren(...notes);
    this.section.dataset.active = String(active);
    if (focused) list.querySelector<HTMLElement>(focused)?.focus();
  }

  private card(r: ResponseSummary): HTMLElement {
    const zh = lang() === "zh";
    const titleId = `resp-${r.id}-title`;
    const started = r.status === "active";
    const badge = started
      ? h("span", { class: "rbadge", style: `--rc: ${levelColour(r.level)}`, "data-level": String(r.level) }, levelLabel(r.level))
      : h("span", { class: "rbadge proposed" }, t("resp.proposed"));
    const tasks = started
      ? h(
          "p",
          { class: "task-counts" },
          t("resp.tasks"),
          " ",
          h("b", { class: "done-count" }, `${r.tasks_done}/${r.tasks}`),
          h("span", { class: "muted" }, ` ${t("resp.done")} · ${t("resp.acked", { n: r.tasks_acknowledged })}`),
          r.tasks_overdue > 0 ? h("span", { class: "overdue-count" }, t("resp.overdue", { n: r.tasks_overdue })) : h("span", { class: "muted" }, ` · ${t("resp.no_overdue")}`),
        )
      : null;
    const head = h(
      "header",
      {},
      h("p", { class: "badges" }, badge, started && r.started_at ? h("span", { class: "state" }, t("resp.started_state")) : null),
      h("h3", { id: titleId }, `${zh ? r.plan_title_zh : r.plan_title_en || r.plan_title_zh} · ${r.county_name ?? r.county_code}`),
      started
        ? h("p", { class: "meta" }, t("resp.started", { t: formatShort(r.started_at), who: r.started_by ?? "—" }))
        : h("p", { class: "meta" }, t("resp.created", { t: formatShort(r.created_at) })),
      tasks,
    );
    const li = h(
      "li",
      {
        class: `response rcolour-${levelColourName(r.level)}`,
        "data-response-id": String(r.id),
        "data-status": r.status,
        "data-level": r.level === null ? "" : String(r.level),
        "data-tasks": String(r.tasks),
        "data-tasks-done": String(r.tasks_done),
        "data-tasks-acknowledged": String(r.tasks_acknowledged),
        "data-tasks-overdue": String(r.tasks_overdue),
      },
    );
    li.style.setProperty("--rc", levelColour(r.level));
    const article = h("article", { "aria-labelledby": titleId }, head);
    if (r.pending_proposal) article.append(this.proposal(r));
    if (started) {
      const details = h("details", { class: "response-detail" }, h("summary", {}, t("resp.details")));
      const body = h("div", { class: "detail-body" });
      details.append(body);
      details.open = this.open.has(r.id);
      if (details.open) this.fillDetail(body, r);
      details.addEventListener("toggle", () => {
        if (!details.open) {
          this.open.delete(r.id);
          return;
        }
        this.open.add(r.id);
        if (this.details.has(r.id)) this.fillDetail(body, r);
        else void this.loadDetail(body, r);
      });
      article.append(details);
      if (this.may("respond")) {
        const actions = h("div", { class: "actions" });
        if ((r.level ?? 1) > 1) actions.append(this.button("raise", r, null));
        if ((r.level ?? 4) < 4) actions.append(this.button("lower", r, null));
        actions.append(this.button("end", r, null, "danger"));
        article.append(actions);
      }
    }
    li.append(article);
    return li;
  }

  private proposal(r: ResponseSummary): HTMLElement {
    const p = r.pending_proposal!;
    const box = h(
      "div",
      { class: "proposal", "data-proposal-id": String(p.id), "data-kind": p.kind, "data-level": String(p.level), style: `--pc: ${levelColour(p.level)}` },
      h("p", {}, h("b", {}, t("resp.proposal")), " ", t(`resp.proposal.${p.kind}`, { level: levelLabel(p.level) })),
      h("p", { class: "meta" }, t("resp.proposal.at", { t: formatShort(p.at) })),
    );
    if (this.may("respond")) {
      box.append(h("div", { class: "actions" }, this.button("accept", r, p.id, "primary"), this.button("dismiss", r, p.id)));
    }
    return box;
  }

  private button(kind: Kind, r: ResponseSummary, target: number | null, cls = ""): HTMLButtonElement {
    const attrs: Record<string, string> = { type: "button", "data-action": kind, class: cls };
    if (target !== null) attrs[kind === "ack" || kind === "done" ? "data-task-id" : "data-proposal-id"] = String(target);
    const label = kind === "accept" ? t(`resp.act.accept.${r.pending_proposal?.kind ?? "start"}`) : t(`resp.act.${kind}`);
    const button = h("button", attrs, label);
    button.addEventListener("click", () => this.openDialog(kind, r, target, button));
    return button;
  }

  private async loadDetail(body: HTMLElement, r: ResponseSummary): Promise<void> {
    body.replaceChildren(h("p", { class: "muted" }, t("queue.loading")));
    try {
      this.details.set(r.id, await api<ResponseDetail>(`/api/responses/${r.id}`));
    } catch (err) {
      body.replaceChildren(h("p", { class: "error" }, t("cand.load_failed", { detail: errorText(err) })));
      return;
    }
    this.fillDetail(body, r);
  }

  private fillDetail(body: HTMLElement, r: ResponseSummary): void {
    const d = this.details.get(r.id);
    if (!d) {
      void this.loadDetail(body, r);
      return;
    }
    const tasks = d.task_list.filter((task) => task.status !== "cancelled");
    const cancelled = d.task_list.length - tasks.length;
    body.replaceChildren(
      h("h4", {}, t("resp.task_list", { n: tasks.length }), cancelled ? h("span", { class: "muted" }, ` ${t("resp.cancelled_n", { n: cancelled })}`) : null),
      tasks.length ? h("ol", { class: "tasks" }, ...tasks.map((task) => this.task(r, task))) : h("p", { class: "muted" }, t("resp.no_tasks")),
      h("h4", {}, t("resp.timeline")),
      h("ol", { class: "timeline" }, ...d.timeline.map((e) => timelineItem(e, d))),
    );
  }

  private task(r: ResponseSummary, task: ResponseTask): HTMLElement {
    const zh = lang() === "zh";
    const state = task.status === "done" ? "done" : task.overdue ? "overdue" : task.status;
    const who = task.person_name ?? t("resp.unassigned");
    const li = h(
      "li",
      { class: `task state-${state}`, "data-task-id": String(task.id), "data-status": task.status, "data-overdue": String(task.overdue) },
      h("p", { class: "task-text" }, h("span", { class: "rlevel" }, roman(task.level)), " ", zh ? task.text_zh : task.text_en || task.text_zh),
      h(
        "p",
        { class: "meta" },
        `${t("resp.assignee")} `,
        h("b", {}, who),
        task.office_name ? ` (${task.office_name})` : "",
        task.phone ? h("span", { class: "phone" }, task.phone) : null,
        ` · ${t("resp.due", { t: formatShort(task.due_at) })}`,
      ),
    );
    const chips = h("p", { class: "task-state" }, h("span", { class: `chip chip-${state}` }, t(`resp.state.${state}`)));
    if (task.overdue && task.status === "acknowledged") chips.append(h("span", { class: "chip" }, t("resp.state.acknowledged")));
    const done = task.done_at ? t("resp.done_by", { t: formatShort(task.done_at), who: task.done_by ?? "—" }) : task.acked_at ? t("resp.acked_by", { t: formatShort(task.acked_at), who: task.acked_by ?? "—" }) : "";
    if (done) chips.append(h("span", { class: "muted" }, done));
    if (task.note) chips.append(h("span", { class: "note-text" }, `“${task.note}”`));
    if (this.may("task") && (task.status === "open" || task.status === "acknowledged")) {
      const buttons = h("span", { class: "task-actions" });
      if (task.status === "open") buttons.append(this.button("ack", r, task.id));
      buttons.append(this.button("done", r, task.id, "primary"));
      chips.append(buttons);
    }
    li.append(chips);
    return li;
  }

  // ---- the dialog: every action with its reason (commander) or note (task)

  private parts() {
    const dialog = document.getElementById("response-dialog") as HTMLDialogElement;
    return {
      dialog,
      form: dialog.querySelector("form")!,
      title: dialog.querySelector<HTMLElement>("#response-title")!,
      what: dialog.querySelector<HTMLElement>("#response-what")!,
      fields: dialog.querySelector<HTMLElement>("#response-fields")!,
      label: dialog.querySelector<HTMLElement>("#response-reason-label")!,
      reason: dialog.querySelector<HTMLTextAreaElement>("textarea[name=reason]")!,
      error: dialog.querySelector<HTMLElement>("#response-error")!,
      submit: dialog.querySelector<HTMLButtonElement>("#response-submit")!,
      close: dialog.querySelector<HTMLButtonElement>("#response-close")!,
    };
  }

  private wireDialog(): void {
    const p = this.parts();
    p.close.addEventListener("click", () => p.dialog.close());
    p.dialog.addEventListener("close", () => {
      const back = this.pending?.opener?.isConnected ? this.pending.opener : document.getElementById("responses-title");
      back?.focus();
      this.pending = null;
    });
    p.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.submit();
    });
  }

  private openDialog(kind: Kind, r: ResponseSummary, target: number | null, opener: HTMLElement): void {
    const p = this.parts();
    this.pending = { kind, response: r, target, opener };
    const zh = lang() === "zh";
    const name = `${planShort(r, zh)} · ${r.county_name ?? r.county_code}`;
    const actionWord = kind === "accept" ? t(`resp.act.accept.${r.pending_proposal?.kind ?? "start"}`) : t(`resp.act.${kind}`);
    p.title.textContent = actionWord;
    let what = `${name}${r.level ? ` · ${levelLabel(r.level)}` : ""}`;
    if ((kind === "accept" || kind === "dismiss") && r.pending_proposal) {
      what = `${name} · ${t(`resp.proposal.${r.pending_proposal.kind}`, { level: levelLabel(r.pending_proposal.level) })}`;
    }
    if (kind === "ack" || kind === "done") {
      const task = this.details.get(r.id)?.task_list.find((x) => x.id === target);
      if (task) what = zh ? task.text_zh : task.text_en || task.text_zh;
    }
    p.what.textContent = what;
    p.fields.replaceChildren(...(kind === "raise" || kind === "lower" ? [levelField(kind, r.level ?? 4)] : []));
    const note = kind === "ack" || kind === "done";
    p.label.textContent = t(note ? "resp.note" : "resp.reason");
    p.reason.required = !note;
    p.reason.value = "";
    p.error.textContent = "";
    p.submit.disabled = false;
    applyI18n(p.dialog);
    p.submit.textContent = actionWord;
    p.submit.classList.toggle("danger", kind === "end" || kind === "dismiss");
    if (!p.dialog.open) p.dialog.showModal();
    p.reason.focus();
  }

  private async submit(): Promise<void> {
    const p = this.parts();
    const pending = this.pending;
    if (!pending) return;
    const { kind, response: r, target } = pending;
    const text = p.reason.value.trim();
    const note = kind === "ack" || kind === "done";
    if (!text && !note) {
      p.error.textContent = t("resp.reason_needed");
      p.reason.focus();
      return;
    }
    let path = `/api/responses/${r.id}`;
    let body: Record<string, unknown> = { reason: text };
    if (kind === "accept" || kind === "dismiss") path += `/proposals/${target}/${kind}`;
    else if (note) {
      path += `/tasks/${target}`;
      body = { action: kind, note: text || null };
    } else {
      path += `/${kind}`;
      if (kind === "raise" || kind === "lower") body.level = Number((p.form.elements.namedItem("level") as HTMLSelectElement).value);
    }
    p.submit.disabled = true;
    p.error.textContent = "";
    try {
      const answer = await api<ResponseDetail | ResponseTask>(path, { method: "POST", body });
      if ("task_list" in answer) this.details.set(r.id, answer);
      p.dialog.close();
      this.onDone(t(`resp.done.${kind}`));
      await this.refresh();
    } catch (err) {
      p.error.textContent = errorText(err);
      p.submit.disabled = false;
    }
  }
}

function levelField(kind: "raise" | "lower", current: number): HTMLElement {
  const select = h("select", { name: "level", required: "" });
  const levels = kind === "raise" ? [current - 1, current - 2, current - 3] : [current + 1, current + 2, current + 3];
  for (const level of levels.filter((l) => l >= 1 && l <= 4)) select.append(h("option", { value: String(level) }, levelLabel(level)));
  return h("label", {}, h("span", {}, t("resp.new_level")), select);
}

function timelineItem(e: TimelineEntry, d: ResponseDetail): HTMLElement {
  const zh = lang() === "zh";
  const task = e.task_id === null ? undefined : d.task_list.find((x) => x.id === e.task_id);
  const levels = e.level_from && e.level_to && e.level_from !== e.level_to ? `${roman(e.level_from)} → ${roman(e.level_to)}` : e.level_to ? levelLabel(e.level_to) : "";
  const key = `resp.event.${e.kind}`;
  const word = t(key);
  return h(
    "li",
    { "data-kind": e.kind },
    h("time", { datetime: e.at }, formatShort(e.at)),
    " ",
    h("b", {}, word === key ? e.kind : word),
    levels && !e.kind.startsWith("task_") ? ` ${levels}` : "",
    task ? h("span", { class: "muted" }, ` ${task.person_name ?? ""} · ${truncate(zh ? task.text_zh : task.text_en || task.text_zh, 28)}`) : null,
    ` · ${e.actor === "plans" ? t("resp.actor.plans") : e.actor === "system" ? t("resp.actor.system") : e.actor}`,
    e.reason ? h("span", { class: "reason" }, `：${e.reason}`) : null,
  );
}

function truncate(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n)}…` : text;
}

/** A selector that finds the same button after a redraw. */
function selectorOf(el: HTMLElement): string | null {
  const action = el.dataset.action;
  const card = el.closest<HTMLElement>("[data-response-id]");
  if (!action || !card) return null;
  const target = el.dataset.taskId ? `[data-task-id="${el.dataset.taskId}"]` : el.dataset.proposalId ? `[data-proposal-id="${el.dataset.proposalId}"]` : "";
  return `[data-response-id="${card.dataset.responseId}"] button[data-action="${action}"]${target}`;
}
