// The daily duty report (值班日报) control at the foot of the review pane, signed in only: a
// Beijing day (today by default) and two buttons, the PDF to download and the HTML to read in a
// new tab. The API wants the bearer token, which a plain link cannot send, so the file is
// fetched and handed over as a blob.
// Contract (tests): `#duty-report` (hidden when signed out), `input#duty-date`,
// `button#duty-pdf`, `button#duty-html`, the status line `#duty-status`.

import { ApiError, authHeaders } from "../shared/api";
import { t } from "../shared/i18n";

/** Today's date in Beijing time, as the date input wants it (YYYY-MM-DD). */
export function beijingToday(now: Date = new Date()): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(now);
}

export function initDutyReport(section: HTMLElement, signedIn: boolean): void {
  section.hidden = !signedIn;
  if (!signedIn) return;
  const input = section.querySelector<HTMLInputElement>("#duty-date")!;
  const status = section.querySelector<HTMLElement>("#duty-status")!;
  input.value = beijingToday();
  input.max = input.value;
  const buttons = section.querySelectorAll<HTMLButtonElement>("button");
  const get = async (format: "pdf" | "html") => {
    if (!input.value) {
      status.textContent = t("duty.pick_day");
      return;
    }
    for (const b of buttons) b.disabled = true;
    status.textContent = t("duty.loading");
    try {
      const blob = await fetchReport(input.value, format);
      const url = URL.createObjectURL(blob);
      if (format === "html") window.open(url, "_blank", "noopener");
      else {
        const a = document.createElement("a");
        a.href = url;
        a.download = `值班日报-${input.value}.pdf`;
        document.body.append(a);
        a.click();
        a.remove();
      }
      window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
      status.textContent = "";
    } catch (err) {
      status.textContent = err instanceof ApiError ? `${t("duty.failed")}: ${err.detail}` : String(err);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  };
  section.querySelector<HTMLButtonElement>("#duty-pdf")!.addEventListener("click", () => void get("pdf"));
  section.querySelector<HTMLButtonElement>("#duty-html")!.addEventListener("click", () => void get("html"));
}

async function fetchReport(day: string, format: "pdf" | "html"): Promise<Blob> {
  const path = `/api/duty/report?date=${encodeURIComponent(day)}&format=${format}`;
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const data = await response.json();
      detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, detail, path);
  }
  return response.blob();
}
