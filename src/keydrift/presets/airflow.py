"""Apache Airflow: the webserver/API secret key signs log-fetching and session requests."""

from __future__ import annotations

from keydrift.presets.interface import Preset
from keydrift.spec import SecretSpec


class Airflow(Preset):
    id = "airflow"
    title = "Apache Airflow"
    # Airflow 3 reads [api] secret_key and falls back to the deprecated [webserver] one.
    spec = SecretSpec(
        name="airflow",
        variables=("AIRFLOW__API__SECRET_KEY", "AIRFLOW__WEBSERVER__SECRET_KEY"),
        previous_variables=(),
    )
    image_patterns = ("apache/airflow",)
    unset_behaviour = (
        "each Airflow component (webserver or API server, scheduler, workers, triggerer) "
        "generates its own random key at start-up, so the UI cannot fetch task logs from "
        "workers (403 Forbidden) and sessions break across webserver replicas"
    )
    must_share = True
    generates_when_unset = True
    public_defaults = ("temporary_key",)
    docs_url = "https://airflow.apache.org/docs/apache-airflow/stable/configurations-ref.html#secret-key"
