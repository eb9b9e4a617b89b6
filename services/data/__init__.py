"""Raw Home Credit data: the table specs, the synthetic generator and the Postgres loader."""
