"""store of the embedded collector."""
