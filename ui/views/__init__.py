"""Widgets that show domain data and emit signals; they call no domain logic themselves."""
