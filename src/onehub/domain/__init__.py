"""OneHub's domain: plain, frozen value types and the error hierarchy. Standard library only."""
