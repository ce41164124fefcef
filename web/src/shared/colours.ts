// Warning signal colours (蓝/黄/橙/红) and risk-level colours, the same on every page.

export const WARNING_COLOURS: Record<string, string> = {
  blue: "#1f5fd6",
  yellow: "#f2c500",
  orange: "#ff7f00",
  red: "#e00000",
};

export const WARNING_ORDER = ["red", "orange", "yellow", "blue"] as const;

/** Risk levels 1 低 … 4 极高 (village risk maps). */
export const RISK_COLOURS: Record<number, string> = {
  1: "#9ed39a",
  2: "#f6e27a",
  3: "#f39a4a",
  4: "#d7301f",
};

export const HAZARDS = ["flash_flood", "geohazard", "forest_fire"] as const;
export type Hazard = (typeof HAZARDS)[number];
