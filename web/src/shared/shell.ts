// What every page has: the header (title, page links, language switch, sign-in and, signed in,
// the area the user answers for), the banner shown while the server cannot be reached, and the
// note that boundaries carry no 审图号.
// Contract: #user-area[data-area] (the area's code, "" for the whole installation) once known.

import { api, ApiError, clearSession, getToken, getUser, onReachability, setSession, whoAmI, type User } from "./api";
import { applyI18n, lang, setLang, t } from "./i18n";

interface SessionReply extends User {
  token: string;
  expires_at: string;
}

export interface ShellOptions {
  page: "console" | "wall" | "resources";
  /** called after sign-in or sign-out (the page rebuilds what depends on the role) */
  onSession?: (user: User | null) => void;
  /** kiosk pages have no header */
  header?: boolean;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function initShell(options: ShellOptions): void {
  if (options.header !== false) buildHeader(options);
  buildBanner();
  const note = el("div", { class: "boundary-note", "data-i18n": "boundary.note" });
  document.body.append(note);
  applyI18n();
  window.addEventListener("riskmap:signed-out", () => {
    renderUser(options);
    options.onSession?.(null);
  });
}

function buildHeader(options: ShellOptions): void {
  const header = el("header", { class: "topbar", role: "banner" });
  const title = el("h1", { class: "brand", "data-i18n": "app.title" });
  const nav = el("nav", { class: "pages", "aria-label": "pages" });
  for (const [page, href] of [
    ["console", "/"],
    ["wall", "/wall"],
    ["resources", "/resources"],
  ] as const) {
    const a = el("a", { href, "data-i18n": `nav.${page}` });
    if (page === options.page) a.setAttribute("aria-current", "page");
    nav.append(a);
  }
  const spacer = el("span", { class: "spacer" });
  const user = el("span", { class: "user", id: "user-box" });
  const langButton = el("button", { type: "button", class: "lang", id: "lang-switch", "data-i18n": "lang.switch", "data-i18n-aria": "lang.switch.aria" });
  langButton.addEventListener("click", () => setLang(lang() === "zh" ? "en" : "zh"));
  header.append(title, nav, spacer, user, langButton);
  document.body.prepend(header);
  renderUser(options);
}

function renderUser(options: ShellOptions): void {
  const box = document.getElementById("user-box");
  if (!box) return;
  box.replaceChildren();
  const user = getUser();
  if (user) {
    const who = el("span", { class: "who", title: user.role }, `${user.display_name ?? user.name} · ${user.role}`);
    const out = el("button", { type: "button", id: "sign-out", "data-i18n": "auth.signout" });
    out.addEventListener("click", async () => {
      try {
        if (getToken()) await api("/api/session", { method: "DELETE" });
      } catch {
        /* the token may already be gone; forget it anyway */
      }
      clearSession();
      renderUser(options);
      options.onSession?.(null);
    });
    const area = el("span", { class: "area", id: "user-area" });
    box.append(who, area, out);
    void showArea(area);
  } else {
    const pub = el("span", { class: "public", "data-i18n": "auth.public" });
    const signIn = el("button", { type: "button", id: "sign-in", "data-i18n": "auth.signin" });
    signIn.addEventListener("click", () => openSignIn(options));
    box.append(pub, signIn);
  }
  applyI18n(box);
}

/** 责任区域：麻阳苗族自治县 (431226), or 全部区域 for a user bound to no area (from /api/me:
 * the server's word, not what was stored at sign-in). */
async function showArea(box: HTMLElement): Promise<void> {
  let me;
  try {
    me = await whoAmI();
  } catch (err) {
    console.warn("who am I:", err);
    return;
  }
  const name = me.area ? el("span", { class: "area-name" }, me.area_name ?? me.area) : el("span", { class: "area-name", "data-i18n": "auth.area.all" });
  box.replaceChildren(el("span", { "data-i18n": "auth.area" }), name);
  box.dataset.area = me.area ?? "";
  applyI18n(box);
}

function openSignIn(options: ShellOptions): void {
  const dialog = el("dialog", { id: "sign-in-dialog", "aria-labelledby": "sign-in-title" });
  const form = el("form", { method: "dialog" });
  form.append(
    el("h2", { id: "sign-in-title", "data-i18n": "auth.signin" }),
    labelled("auth.name", el("input", { name: "name", id: "sign-in-name", autocomplete: "username", required: "" })),
    labelled(
      "auth.password",
      el("input", { name: "password", id: "sign-in-password", type: "password", autocomplete: "current-password", required: "" }),
    ),
  );
  const error = el("p", { class: "error", role: "alert", id: "sign-in-error" });
  const buttons = el("div", { class: "buttons" });
  const cancel = el("button", { type: "button", value: "cancel", "data-i18n": "auth.cancel" });
  const submit = el("button", { type: "submit", class: "primary", id: "sign-in-submit", "data-i18n": "auth.signin" });
  buttons.append(cancel, submit);
  form.append(error, buttons);
  dialog.append(form);
  document.body.append(dialog);
  applyI18n(dialog);
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    submit.disabled = true;
    try {
      const reply = await api<SessionReply>("/api/session", {
        method: "POST",
        auth: false,
        body: { name: data.get("name"), password: data.get("password") },
      });
      const { token, ...user } = reply;
      setSession(token, user);
      dialog.close();
      renderUser(options);
      options.onSession?.(user);
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401 ? t("auth.failed") : String((err as Error).message);
    } finally {
      submit.disabled = false;
    }
  });
  dialog.showModal();
  (dialog.querySelector("#sign-in-name") as HTMLInputElement).focus();
}

function labelled(key: string, input: HTMLElement): HTMLElement {
  const label = el("label");
  label.append(el("span", { "data-i18n": key }), input);
  return label;
}

function buildBanner(): void {
  const banner = el("div", { class: "net-banner", id: "net-banner", role: "alert", hidden: "" });
  const text = el("span", { "data-i18n": "net.down" });
  const retry = el("button", { type: "button", "data-i18n": "net.retry" });
  retry.addEventListener("click", () => location.reload());
  banner.append(text, retry);
  document.body.append(banner);
  onReachability((ok) => {
    banner.hidden = ok;
  });
}
