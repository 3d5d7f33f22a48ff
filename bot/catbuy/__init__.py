"""The CatBuy Services API: client, payload models and errors."""
