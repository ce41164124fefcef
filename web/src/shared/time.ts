// Times are stored in UTC and shown in Beijing time (Asia/Shanghai), whatever the browser's zone.

const ZONE = "Asia/Shanghai";

const full = new Intl.DateTimeFormat("zh-CN", {
  timeZone: ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hour12: false,
});
const short = new Intl.DateTimeFormat("zh-CN", {
  timeZone: ZONE,
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hour12: false,
});
const clock = new Intl.DateTimeFormat("zh-CN", {
  timeZone: ZONE,
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

function asDate(value: string | number | Date): Date {
  return value instanceof Date ? value : new Date(value);
}

/** 2026-07-14 13:00 (北京时间) */
export function formatTime(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return full.format(asDate(value)).replace(/\//g, "-");
}

/** 07-14 13:00 */
export function formatShort(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return short.format(asDate(value)).replace(/\//g, "-");
}

/** 13:00:05 */
export function formatClock(value: string | number | Date): string {
  return clock.format(asDate(value));
}
