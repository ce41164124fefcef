// A popup with a resource's name, details and phone, for a click on the map or a list entry.

import { maplibregl } from "../shared/basemap";
import type { Map as MapLibreMap } from "maplibre-gl";
import { t } from "../shared/i18n";
import type { Kind } from "./data";
import { details, phone } from "./describe";
import { distance, el } from "./format";

let open: maplibregl.Popup | null = null;

export function showPopup(
  map: MapLibreMap,
  kind: Kind,
  lngLat: [number, number],
  props: Record<string, unknown>,
  itemQuery: string,
): void {
  open?.remove();
  const body = el("div", { class: "res-popup" });
  if (kind === "expert" && props.count !== undefined) {
    body.append(
      el("strong", {}, t("res.kind.expert")),
      el("div", {}, t("res.expert.count", { n: Number(props.count), name: String(props.serves_name) })),
      el("div", { class: "note" }, t("res.expert.located")),
    );
  } else {
    body.append(el("strong", {}, String(props.name)), el("div", {}, details(kind, props, itemQuery)));
    if (props.distance_m !== undefined) body.append(el("div", {}, distance(Number(props.distance_m))));
    const tel = phone(kind, props);
    if (tel) body.append(el("a", { href: `tel:${tel}` }, `${t("res.phone")} ${tel}`));
  }
  open = new maplibregl.Popup({ closeButton: true, maxWidth: "18rem", focusAfterOpen: false })
    .setLngLat(lngLat)
    .setDOMContent(body)
    .addTo(map);
}
