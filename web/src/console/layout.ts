// Panels: on a laptop the layer panel floats on the map and the queue and the village profile
// share the right-hand column (the profile on top); on a phone they are tabs of a bottom sheet.
// Esc closes the profile (dialogs close themselves).

export type Tab = "layers" | "queue" | "profile";

export class Panels {
  private readonly app: HTMLElement;

  constructor(
    private readonly closeProfile: () => void,
    private readonly onTab: () => void = () => undefined,
  ) {
    this.app = document.getElementById("app")!;
    this.app.querySelectorAll<HTMLButtonElement>(".sheet-tabs [data-tab]").forEach((button) => {
      button.addEventListener("click", () => this.show(button.dataset.tab as Tab));
      button.addEventListener("keydown", (ev) => this.arrow(ev, button));
    });
    document.addEventListener("keydown", (ev) => {
      if (ev.key !== "Escape" || document.querySelector("dialog[open]")) return;
      if (!document.getElementById("village-profile")!.hidden) {
        ev.preventDefault();
        this.closeProfile();
      }
    });
    this.show((this.app.dataset.tab as Tab) ?? "queue");
  }

  show(tab: Tab): void {
    this.app.dataset.tab = tab;
    this.app.querySelectorAll<HTMLButtonElement>(".sheet-tabs [data-tab]").forEach((b) => {
      b.setAttribute("aria-selected", String(b.dataset.tab === tab));
      b.tabIndex = b.dataset.tab === tab ? 0 : -1;
    });
    const profileOpen = !document.getElementById("village-profile")!.hidden;
    document.getElementById("profile-hint")!.hidden = !(tab === "profile" && !profileOpen);
    this.onTab();
  }

  /** Arrow keys move between the tabs (one tab stop for the tab list). */
  private arrow(ev: KeyboardEvent, button: HTMLButtonElement): void {
    if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") return;
    const tabs = [...this.app.querySelectorAll<HTMLButtonElement>(".sheet-tabs [data-tab]")];
    const next = tabs[(tabs.indexOf(button) + (ev.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    ev.preventDefault();
    this.show(next.dataset.tab as Tab);
    next.focus();
  }

  /** Leave out what a public visitor cannot use (the review queue, village profiles). */
  publicMode(): void {
    this.app.classList.add("public");
    document.getElementById("review-queue")?.remove();
    document.getElementById("queue-title")!.closest(".queue-head")?.remove();
    document.getElementById("tab-profile")!.remove();
    document.getElementById("tab-queue")!.dataset.i18n = "tab.warnings";
  }

  get tab(): Tab {
    return this.app.dataset.tab as Tab;
  }
}
