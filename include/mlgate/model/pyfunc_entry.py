"""MLflow models-from-code entry point: the file MLflow runs to build the served model."""

from mlflow.models import set_model

from mlgate.model.serving import GatedModel

set_model(GatedModel())
