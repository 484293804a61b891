"""The AppSync API: its schema, and one Lambda data source that resolves every field."""
