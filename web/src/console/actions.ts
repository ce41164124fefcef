// Review actions through the reason dialog #action-dialog: issue, edit, reject, escalate,
// cancel. The API decides (403 for a role that may not act, 409 for a state that does not
// allow it); its answer is shown in #action-error and the dialog stays open.

import { api, ApiError, may } from "../shared/api";
import { WARNING_ORDER } from "../shared/colours";
import { applyI18n, lang, t } from "../shared/i18n";
import { h, last } from "./dom";
import type { WarningDetail, WarningProps } from "./types";

export const ACTIONS = ["issue", "edit", "reject", "escalate", "cancel"] as const;
export type Action = (typeof ACTIONS)[number];

const EDIT_FIELDS = ["headline_zh", "headline_en", "description_zh", "instruction_zh"] as const;

/** The area prefix of the signed-in user (/api/me: a city's four digits, a county's six; null:
 * everywhere); undefined until known. */
let areaPrefix: string | null | undefined;

export function setArea(area: string | null): void {
  areaPrefix = area === null ? null : area.length === 6 && area.endsWith("00") ? area.slice(0, 4) : area;
}

/** Whether the user's bureau may act on the warning: every village in its area and the issuing
 * bureau its own or one within it (a county may not change its city's warning; the API says
 * 403). The issuer is the warning's `issuer_code` when the API gives it, else its villages'
 * county. */
export function ownedHere(w: WarningProps): boolean {
  const prefix = areaPrefix;
  if (!prefix) return true;
  const codes = w.village_codes ?? [];
  if (codes.some((c) => !c.startsWith(prefix))) return false;
  const issuer = w.issuer_code ?? codes[0]?.slice(0, 6);
  return !issuer || issuer.startsWith(prefix);
}

/** The actions this user may take on this warning (the buttons shown). */
export function allowedActions(w: WarningProps): Action[] {
  const out: Action[] = [];
  if (!ownedHere(w)) return out;
  const pending = w.status === "candidate" || w.pending_review;
  if (may("review")) {
    if (pending) out.push("issue");
    if (pending || w.status === "issued") out.push("edit");
    if (pending) out.push("reject");
    if (pending || w.status === "issued") out.push("escalate");
  }
  if (may("cancel") && w.status === "issued") out.push("cancel");
  return out;
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError && err.status === 0) return t("action.unreachable");
  if (err instanceof ApiError) {
    const known: Record<number, string> = { 401: "action.401", 403: "action.403", 409: "action.409", 422: "action.422" };
    const key = known[err.status];
    return key ? t(key, { detail: err.detail }) : t("action.other", { status: err.status || "—", detail: err.detail });
  }
  return t("action.other", { status: "—", detail: String((err as Error)?.message ?? err) });
}

type Done = (action: Action, warningId: number) => void;

interface Pending {
  action: Action;
  warning: WarningProps;
  detail: WarningDetail | null;
  opener: HTMLElement | null;
}

let pending: Pending | null = null;
let done: Done = () => undefined;

function parts() {
  const dialog = document.getElementById("action-dialog") as HTMLDialogElement;
  return {
    dialog,
    form: dialog.querySelector("form")!,
    title: dialog.querySelector<HTMLElement>("#action-title")!,
    headline: dialog.querySelector<HTMLElement>("#action-headline")!,
    fields: dialog.querySelector<HTMLElement>("#action-fields")!,
    reason: dialog.querySelector<HTMLTextAreaElement>("textarea[name=reason]")!,
    error: dialog.querySelector<HTMLElement>("#action-error")!,
    submit: dialog.querySelector<HTMLButtonElement>("#action-submit")!,
    close: dialog.querySelector<HTMLButtonElement>("#action-close")!,
  };
}

/** Wire the dialog once; `onDone` runs after an action succeeded. */
export function initActions(onDone: Done): void {
  done = onDone;
  const p = parts();
  p.close.addEventListener("click", () => p.dialog.close());
  p.dialog.addEventListener("close", () => {
    // the button that opened the dialog, or (the queue was redrawn) the queue's heading
    const back = pending?.opener?.isConnected ? pending.opener : document.getElementById("queue-title");
    back?.focus();
    pending = null;
  });
  p.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void submit();
  });
}

function currentVersion(detail: WarningDetail | null) {
  if (!detail) return null;
  return detail.versions.find((v) => v.version === detail.properties.current_version) ?? last(detail.versions) ?? null;
}

function editFields(detail: WarningDetail | null): HTMLElement[] {
  const v = currentVersion(detail);
  return EDIT_FIELDS.map((name) => {
    const value = (v?.[name] as string | null | undefined) ?? "";
    const long = name.startsWith("description") || name.startsWith("instruction");
    const input = long ? h("textarea", { name, rows: "4", "data-original": value }) : h("input", { name, type: "text", "data-original": value });
    input.value = value;
    return h("label", {}, h("span", { "data-i18n": `edit.${name}` }), input);
  });
}

function colourField(current: string): HTMLElement {
  const select = h("select", { name: "colour", required: "" });
  for (const c of [...WARNING_ORDER].reverse()) {
    const option = h("option", { value: c }, t(`colour.${c}`));
    option.selected = c === current;
    select.append(option);
  }
  return h("label", {}, h("span", { "data-i18n": "action.colour" }), select);
}

/** Open the dialog for `action` on `warning` (detail: its loaded detail, fetched if needed). */
export async function openAction(action: Action, warning: WarningProps, detail: WarningDetail | null, opener: HTMLElement | null): Promise<void> {
  const p = parts();
  if (action === "edit" && !detail) {
    try {
      detail = await api<WarningDetail>(`/api/warnings/${warning.id}`);
    } catch {
      detail = null; // the dialog opens with empty fields; the API still checks the edit
    }
  }
  pending = { action, warning, detail, opener };
  p.title.textContent = `${t(`action.${action}`)} · #${warning.id}`;
  p.headline.textContent = lang() === "zh" ? warning.headline_zh : warning.headline_en || warning.headline_zh;
  p.fields.replaceChildren(...(action === "escalate" ? [colourField(warning.colour)] : action === "edit" ? editFields(detail) : []));
  p.reason.value = "";
  p.error.textContent = "";
  p.submit.disabled = false;
  p.submit.textContent = t(`action.${action}`);
  p.submit.classList.toggle("danger", action === "cancel" || action === "reject");
  applyI18n(p.dialog);
  p.submit.textContent = t(`action.${action}`);
  if (!p.dialog.open) p.dialog.showModal();
  (action === "edit" ? p.fields.querySelector<HTMLElement>("input, textarea") : p.reason)?.focus();
}

function body(action: Action, form: HTMLFormElement, reason: string): Record<string, unknown> | null {
  const out: Record<string, unknown> = { reason };
  if (action === "escalate") out.colour = (form.elements.namedItem("colour") as HTMLSelectElement).value;
  if (action === "edit") {
    for (const name of EDIT_FIELDS) {
      const input = form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement | null;
      if (input && input.value !== input.dataset.original) out[name] = input.value.trim() || null;
    }
    if (Object.keys(out).length === 1) return null;
  }
  return out;
}

async function submit(): Promise<void> {
  const p = parts();
  if (!pending) return;
  const { action, warning } = pending;
  const reason = p.reason.value.trim();
  if (!reason) {
    p.error.textContent = t("action.422", { detail: t("action.reason") });
    p.reason.focus();
    return;
  }
  const payload = body(action, p.form, reason);
  if (!payload) {
    p.error.textContent = t("action.nochange");
    return;
  }
  p.submit.disabled = true;
  p.error.textContent = "";
  try {
    await api(`/api/warnings/${warning.id}/${action}`, { method: "POST", body: payload });
    p.dialog.close();
    done(action, warning.id);
  } catch (err) {
    p.error.textContent = errorText(err);
    p.submit.disabled = false;
  }
}
