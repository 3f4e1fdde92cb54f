"""The training window, training XGBoost under MLflow, registration of the candidate."""
