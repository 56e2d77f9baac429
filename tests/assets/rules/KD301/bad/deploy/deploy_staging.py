"""Deploy the API to staging."""
import subprocess

REGISTRY_TOKEN = "kdcanary301Lq4Wm7Zx2Vr9Nc5Hb8Tk1Jd3Gf6Ps0Ye"

subprocess.run(
    [
        "gcloud", "run", "deploy", "api",
        "--set-env-vars",
        "JWT_SECRET_STAGING=your-secure-jwt-secret-key-staging-64-chars-minimum-for-security",
    ],
    check=True,
)
