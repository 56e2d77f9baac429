#!/usr/bin/env bash
set -euo pipefail
# Deploy to staging.
export ENVIRONMENT=staging
export JWT_SECRET='shell-single-quoted-0123456789abcdef'
GENERATED=$(openssl rand -hex 32)
export JWT_SECRET_KEY="$GENERATED"
SIGNING_KEY="${SIGNING_KEY:-shell-default-0123456789abcdefghij}"
gcloud run deploy billing \
  --region europe-west1 \
  --update-env-vars "JWT_SECRET=continued-line-secret-0123456789ab,LOG_LEVEL=info"
kubectl create secret generic api-jwt --from-literal=jwt-secret=kubectl-literal-0123456789abcdef
