"""Model-card templates, installed as the `pg2_hub.model_cards` package data."""
