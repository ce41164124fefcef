// Map icons for the four kinds, drawn on a canvas (no sprite sheet, no glyphs): a shape and a
// colour each, so they differ for colour-blind readers too and stay clear of warning colours.

import type { Map as MapLibreMap } from "maplibre-gl";
import type { Kind } from "./data";

export const KIND_COLOURS: Record<Kind, string> = {
  shelter: "#2e7d32",
  warehouse: "#8d5524",
  team: "#00796b",
  expert: "#6a1b9a",
};

const SIZE = 40; // drawn at 2× for sharp edges; shown at icon-size 0.5

function draw(kind: Kind): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.width = c.height = SIZE;
  const g = c.getContext("2d")!;
  g.fillStyle = KIND_COLOURS[kind];
  g.strokeStyle = "#fff";
  g.lineWidth = 3;
  const m = SIZE / 2;
  g.beginPath();
  if (kind === "shelter") {
    // a house: roof and walls
    g.moveTo(m, 3);
    g.lineTo(SIZE - 3, m - 2);
    g.lineTo(SIZE - 8, m - 2);
    g.lineTo(SIZE - 8, SIZE - 4);
    g.lineTo(8, SIZE - 4);
    g.lineTo(8, m - 2);
    g.lineTo(3, m - 2);
  } else if (kind === "warehouse") {
    g.rect(5, 5, SIZE - 10, SIZE - 10);
  } else if (kind === "team") {
    g.moveTo(m, 2);
    g.lineTo(SIZE - 2, m);
    g.lineTo(m, SIZE - 2);
    g.lineTo(2, m);
  } else {
    g.arc(m, m, m - 3, 0, Math.PI * 2);
  }
  g.closePath();
  g.fill();
  g.stroke();
  g.fillStyle = "#fff";
  g.beginPath();
  if (kind === "warehouse") {
    g.fillRect(11, m - 2, SIZE - 22, 4); // a shelf
  } else if (kind === "team") {
    g.fillRect(m - 2, m - 9, 4, 18); // a cross
    g.fillRect(m - 9, m - 2, 18, 4);
  } else if (kind === "expert") {
    g.arc(m, m - 5, 5, 0, Math.PI * 2); // a person
    g.fill();
    g.beginPath();
    g.arc(m, m + 12, 10, Math.PI, 0);
  } else {
    g.rect(m - 4, SIZE - 15, 8, 11); // a door
  }
  g.fill();
  return c;
}

export function addIcons(map: MapLibreMap): void {
  for (const kind of ["shelter", "warehouse", "team", "expert"] as const) {
    const c = draw(kind);
    const data = c.getContext("2d")!.getImageData(0, 0, SIZE, SIZE);
    if (!map.hasImage(`icon-${kind}`)) map.addImage(`icon-${kind}`, data, { pixelRatio: 2 });
  }
}

/** The icon as an image URL (legend and lists). */
export function iconUrl(kind: Kind): string {
  return draw(kind).toDataURL("image/png");
}
