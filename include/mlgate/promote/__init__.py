"""The promotion gate: golden sets, sanity, statistics, the decision, route and apply, the card,
the registry, rollback."""
