"""Use cases of OneHub. Transactions begin and end here."""
