// zh-CN first, English on request. Pages register their own words; elements with
// data-i18n="key" (text), data-i18n-title / data-i18n-aria / data-i18n-placeholder are filled in.

export type Lang = "zh" | "en";
type Words = Record<string, readonly [zh: string, en: string]>;

const LANG_KEY = "riskmap.lang";
const words: Words = {};
const listeners: Array<(lang: Lang) => void> = [];

let current: Lang = (localStorage.getItem(LANG_KEY) as Lang | null) === "en" ? "en" : "zh";

export function register(more: Words): void {
  Object.assign(words, more);
}

export function lang(): Lang {
  return current;
}

/** The word in the current language (or in `language`, e.g. zh for a CSV header); the key
 * itself if nobody registered it. */
export function t(key: string, params?: Record<string, string | number>, language: Lang = current): string {
  const pair = words[key];
  let text = pair ? pair[language === "zh" ? 0 : 1] : key;
  if (params) {
    for (const [name, value] of Object.entries(params)) text = text.replaceAll(`{${name}}`, String(value));
  }
  return text;
}

/** Chinese and English together (titles, legends read by both). */
export function both(key: string): string {
  const pair = words[key];
  return pair ? `${pair[0]} ${pair[1]}` : key;
}

export function applyI18n(root: ParentNode = document): void {
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  root.querySelectorAll<HTMLElement>("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n!);
  });
  root.querySelectorAll<HTMLElement>("[data-i18n-title]").forEach((el) => {
    el.title = t(el.dataset.i18nTitle!);
  });
  root.querySelectorAll<HTMLElement>("[data-i18n-aria]").forEach((el) => {
    el.setAttribute("aria-label", t(el.dataset.i18nAria!));
  });
  root.querySelectorAll<HTMLInputElement>("[data-i18n-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder!);
  });
}

export function setLang(next: Lang): void {
  current = next;
  localStorage.setItem(LANG_KEY, next);
  applyI18n();
  for (const fn of listeners) fn(next);
}

export function onLang(fn: (lang: Lang) => void): void {
  listeners.push(fn);
}

register({
  "app.title": ["风险一张图与预警", "Risk map and warnings"],
  "lang.switch": ["English", "中文"],
  "lang.switch.aria": ["切换到英文", "Switch to Chinese"],
  "nav.console": ["预报员控制台", "Forecaster console"],
  "nav.wall": ["指挥中心大屏", "Wall map"],
  "nav.resources": ["应急资源一张图", "Resource one map"],
  "auth.signin": ["登录", "Sign in"],
  "auth.signout": ["退出", "Sign out"],
  "auth.name": ["用户名", "Name"],
  "auth.password": ["密码", "Password"],
  "auth.public": ["公众访问：仅显示已发布预警", "Public view: issued warnings only"],
  "auth.failed": ["用户名或密码错误", "Wrong name or password"],
  "auth.cancel": ["取消", "Cancel"],
  "auth.area": ["责任区域：", "Area: "],
  "auth.area.all": ["全部区域", "all areas"],
  "net.down": ["无法连接服务器，地图数据可能不是最新的", "Cannot reach the server: the map may be out of date"],
  "net.retry": ["重试", "Retry"],
  "boundary.note": [
    "边界仅供示意，无审图号，不作为权属争议依据",
    "Boundaries are indicative only and carry no map approval number (审图号)",
  ],
  "colour.blue": ["蓝色", "blue"],
  "colour.yellow": ["黄色", "yellow"],
  "colour.orange": ["橙色", "orange"],
  "colour.red": ["红色", "red"],
  "hazard.flash_flood": ["山洪", "flash flood"],
  "hazard.geohazard": ["地质灾害", "geohazard"],
  "hazard.forest_fire": ["森林火险", "forest fire"],
  "hazard.rainstorm": ["暴雨", "rainstorm"],
  "hazard.river_flood": ["江河洪水", "river flood"],
  "hazard.reservoir": ["水库", "reservoir"],
  "hazard.earthquake": ["地震", "earthquake"],
  "risk.1": ["低", "low"],
  "risk.2": ["中", "medium"],
  "risk.3": ["高", "high"],
  "risk.4": ["极高", "very high"],
  "action.prepare_evacuation": ["准备转移", "prepare to evacuate"],
  "action.evacuate_now": ["立即转移", "evacuate now"],
});
