"""Where, how much, and what happens there: the vaccination sites, their days and capacity, and the
site team's work (arrival, pre-screening, the dose given, observation, adverse events)."""
