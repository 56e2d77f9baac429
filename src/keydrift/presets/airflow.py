"""Apache Airflow: the execution API's JWT secret and the API/webserver secret key.

Sources:
- Airflow 3 ``[api_auth] jwt_secret`` (``AIRFLOW__API_AUTH__JWT_SECRET``) signs the tokens the
  API server gives tasks; the scheduler, dag-processor, triggerer and workers send them back.
  Unset, each process generated its own and tasks failed with "Invalid auth token: Signature
  verification failed" (apache/airflow #49646, #59373; the docs compose sets a default since
  #59803).
- ``[api] secret_key`` (Airflow 3) / ``[webserver] secret_key`` (Airflow 2) signs log-fetching
  requests between the API server/webserver and workers. The docs compose runs ``airflow-init``
  first, which writes the generated configuration into the ``config/`` directory every service
  mounts, so every component reads the same key.
"""

from __future__ import annotations

from keydrift.presets.interface import KeyStorage, Preset
from keydrift.spec import SecretKind, SecretSpec

_SECRET_KEY = SecretSpec(
    name="airflow-secret-key",
    variables=("AIRFLOW__API__SECRET_KEY", "AIRFLOW__WEBSERVER__SECRET_KEY"),
    previous_variables=(),
    kind=SecretKind.SESSION_KEY,
)


class Airflow(Preset):
    id = "airflow"
    title = "Apache Airflow"
    spec = SecretSpec(
        name="airflow",
        variables=("AIRFLOW__API_AUTH__JWT_SECRET",),
        previous_variables=(),
        kind=SecretKind.SIGNING_KEY,
    )
    extra_specs = (_SECRET_KEY,)
    image_patterns = ("apache/airflow",)
    unset_behaviour = (
        "each Airflow process (API server, scheduler, dag-processor, triggerer, workers) "
        "generates its own random key at start-up, so task tokens fail with 'Invalid auth "
        "token: Signature verification failed' and log fetching gets 403 Forbidden"
    )
    must_share = True
    generates_when_unset = True
    public_defaults = ("temporary_key", "airflow_jwt_secret")
    docs_url = "https://airflow.apache.org/docs/apache-airflow/stable/configurations-ref.html#jwt-secret"

    def key_storage_for(self, spec: SecretSpec) -> KeyStorage | None:
        if spec == _SECRET_KEY:
            # airflow-init writes airflow.cfg (with a generated secret_key) into the config
            # directory before the other services start.
            return KeyStorage(directory="/opt/airflow/config", file="airflow.cfg",
                              written_once=True)
        return None
