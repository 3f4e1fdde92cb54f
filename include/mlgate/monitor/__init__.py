"""Label join, live quality, drift, the report, alerts, the retraining request."""
