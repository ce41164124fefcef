"""A registry of synthetic people and the duties they hold, shared by every demo generator."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmap.geo.demo.names import mobile_numbers, person_names

DUTY_TARGETS = ("admin_code", "stcd", "dike_id", "hazard_point_id", "site_id", "shelter_id")


@dataclass
class People:
    """Collects person rows (table ``person``) and duty rows (table ``duty``) as they are made.

    Ids are ``P<county code>-<serial>`` so two demo counties in one database never collide.
    """

    county_code: str
    dataset_id: str
    rng: np.random.Generator
    _rows: list[dict] = field(default_factory=list)
    _duties: list[dict] = field(default_factory=list)
    _phones: set[str] = field(default_factory=set)

    def add(self, n: int, *, org: str, title: str, admin_code: str | None = None) -> list[str]:
        """Create ``n`` people working for ``org`` as ``title``; returns their ids."""
        names = person_names(self.rng, n)
        phones: list[str] = []
        while len(phones) < n:  # numbers are unique across the whole county
            fresh = [p for p in mobile_numbers(self.rng, n - len(phones)) if p not in self._phones]
            self._phones.update(fresh)
            phones.extend(fresh)
        ids = []
        for name, phone in zip(names, phones, strict=True):
            pid = f"P{self.county_code}-{len(self._rows) + 1:06d}"
            self._rows.append(
                {
                    "id": pid,
                    "name": name,
                    "phone": phone,
                    "org": org,
                    "title": title,
                    "admin_code": admin_code,
                    "dataset_id": self.dataset_id,
                }
            )
            ids.append(pid)
        return ids

    def one(self, *, org: str, title: str, admin_code: str | None = None) -> str:
        return self.add(1, org=org, title=title, admin_code=admin_code)[0]

    def duty(self, person_id: str, role: str, **target: str) -> None:
        """Record that ``person_id`` holds ``role`` for exactly one target (e.g. ``stcd=...``)."""
        if len(target) != 1 or next(iter(target)) not in DUTY_TARGETS:
            raise ValueError(f"a duty names exactly one of {DUTY_TARGETS}, got {sorted(target)}")
        self._duties.append({"person_id": person_id, "role": role, **target})

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The ``person`` and ``duty`` tables."""
        person = pd.DataFrame(
            self._rows, columns=["id", "name", "phone", "org", "title", "admin_code", "dataset_id"]
        )
        duty = pd.DataFrame(self._duties, columns=["person_id", "role", *DUTY_TARGETS])
        return person, duty
