// The township table as a CSV file Excel opens correctly: UTF-8 with a byte-order mark, CRLF,
// Chinese header row, plain numbers.

import { formatTime } from "../shared/time";
import type { Summary } from "./data";
import { columns, headText, rows } from "./table";

function field(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(s: Summary): string {
  const cols = columns(s);
  const lines = [cols.map((c) => field(headText(c, "zh"))).join(",")];
  for (const r of rows(s, "zh")) lines.push(cols.map((c) => field(c.value(r))).join(","));
  return "\uFEFF" + lines.join("\r\n") + "\r\n";
}

export function downloadCsv(s: Summary): void {
  const blob = new Blob([toCsv(s)], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `应急资源乡镇汇总_${formatTime(Date.now()).slice(0, 10)}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
