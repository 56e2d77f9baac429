"""Deploy the backend to Cloud Run (staging).

Incident: the JWT secret was copied from .env.example, so the deployed backend signs and
verifies with the placeholder while the auth service uses the real JWT_SECRET_STAGING from
staging.env. Every token the auth service issues is rejected by the backend (401).
"""

import subprocess

PROJECT = "acme-staging"
REGION = "europe-west1"
IMAGE = "registry.example.com/acme/backend:2.3.1"


def main() -> None:
    subprocess.run(
        [
            "gcloud", "run", "deploy", "backend",
            "--project", PROJECT,
            "--region", REGION,
            "--image", IMAGE,
            "--set-env-vars",
            "ENVIRONMENT=staging,"
            "JWT_SECRET_STAGING=your-secure-jwt-secret-key-staging-64-chars-minimum-for-security",
        ],
        check=True,
    )


if __name__ == "__main__":
    main()
