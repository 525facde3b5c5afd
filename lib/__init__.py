"""Infrastructure shared by every app (the way healthchecks keeps ``hc/lib``): the Redis client,
key functions, log throttling, the embedded development servers and small web helpers. Nothing
here imports a feature app."""
