"""Features and the model matrix (one path for training and serving), the served pyfunc,
the reference profile."""
