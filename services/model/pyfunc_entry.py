"""MLflow models-from-code entry point: the pyfunc is rebuilt from this file at load time, not unpickled."""

from mlflow.models import set_model

from services.model.model import CreditPyfunc

set_model(CreditPyfunc())
