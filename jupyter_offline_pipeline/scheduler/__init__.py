"""The scheduler: when instances are due, and making them."""
