"""query of the embedded collector."""
