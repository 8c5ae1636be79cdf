"""The tiny kernel every module shares: ids, clock, error categories, events, principal."""
