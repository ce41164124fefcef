"""riskmap's domain library: database, admin units, terrain, risk, rules and warnings."""
