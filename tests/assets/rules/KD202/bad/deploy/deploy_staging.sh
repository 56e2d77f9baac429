#!/bin/sh
set -eu
gcloud run deploy api --region europe-west1 \
  --set-env-vars "JWT_SECRET_STAGING=kdcanaryZ6wSIA3qMXbif2lEln2h6VN4cObg21qJ_LyNTfo8ge50ipfc"
