"""What every read-side function shares: the order view, page tokens, and the table adapters."""
