"""The platform's parts as real local processes on loopback ports, for the tests and the benchmarks.

Not a service and not installed: it starts what `services/` and `infra/` define (redis-server, Celery
workers, uvicorn apps, the MLflow launcher) and waits until each answers; and the small models they
serve (trained.py: trained the way `credit train` trains one, for the reason and recourse tests and the
recourse bench).
"""
