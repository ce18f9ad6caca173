"""receivers of the embedded collector."""
