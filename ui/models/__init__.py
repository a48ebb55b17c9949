"""Qt item models over domain data (they hold ids and cached rows, never business rules)."""
