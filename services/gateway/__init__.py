"""The public REST API (/v1) for front-office apps: auth, rate limits, routing to features and scoring."""
