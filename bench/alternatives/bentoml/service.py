"""BentoML serving the benchmark's booster, as a team picking BentoML would write it for one LightGBM
model: load the booster once, one JSON list of feature values in, the model's probability out.

Run by bench/scoring.py in its own virtual environment (requirements.txt beside this file):
`bentoml serve service:CreditBooster --port P`, BENCH_BOOSTER_FILE naming the model.txt.
"""

import os

import bentoml
import lightgbm as lgb
import numpy as np


@bentoml.service(workers=1, traffic={"timeout": 30})
class CreditBooster:
    def __init__(self) -> None:
        self.booster = lgb.Booster(model_file=os.environ["BENCH_BOOSTER_FILE"])

    @bentoml.api
    def predict(self, features: list[float]) -> float:
        return float(self.booster.predict(np.asarray([features], dtype=np.float64))[0])
