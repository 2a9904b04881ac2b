"""Use cases: framework-free services over the store, a clock, a mailer and the settings."""
