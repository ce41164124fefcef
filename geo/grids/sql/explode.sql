-- A period stored once more: its grid row becomes village rows first, so the per-village rule
-- of village_rain.sql decides (a later grid replaces unless it covers a village less).
SELECT village_rain_explode(%(product)s, %(valid_start)s, %(valid_end)s, %(issued_at)s);
