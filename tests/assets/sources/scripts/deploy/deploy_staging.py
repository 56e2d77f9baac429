"""Deploy the auth service to Cloud Run (staging).

    python deploy/deploy_staging.py --env JWT_SECRET=$(cat secret)
"""
import os
import subprocess

jwt_secret_value = "script-literal-staging-secret-0123456789"
SETTINGS = {
    "staging": {"JWT_SECRET": "dict-staging-secret-0123456789abcdef"},
    "production": {"JWT_SECRET": "dict-production-secret-0123456789abcd"},
}
os.environ["JWT_SECRET_STAGING"] = "environ-assigned-secret-0123456789ab"
fallback = os.getenv("JWT_SECRET", "getenv-default-secret")
other = os.environ.get("API_TOKEN", "environ-get-default")
not_env = {"a": 1}.get("JWT_SECRET", "dict-get-is-not-environ")

subprocess.run(
    [
        "gcloud", "run", "deploy", "auth",
        "--image", "gcr.io/acme/auth:3",
        "--set-env-vars", "ENVIRONMENT=staging,JWT_SECRET=cli-list-secret-0123456789abcdef",
    ],
    check=True,
)
os.system("docker run -e JWT_SECRET=cli-string-secret-0123456789abcd --name worker acme/worker")
