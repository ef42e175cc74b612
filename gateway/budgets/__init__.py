"""Budgets and limits: prices, reservations settled on real usage, and the usage they add up to."""
