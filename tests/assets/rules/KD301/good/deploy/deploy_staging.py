"""Deploy the API to staging."""
import os
import subprocess

subprocess.run(
    [
        "gcloud", "run", "deploy", "api",
        "--set-env-vars",
        "JWT_SECRET_STAGING=" + os.environ["JWT_SECRET_STAGING"],
    ],
    check=True,
)
