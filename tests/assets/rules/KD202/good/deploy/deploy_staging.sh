#!/bin/sh
set -eu
gcloud run deploy api --region europe-west1 \
  --set-env-vars "JWT_SECRET_STAGING=kdcanaryHOWxTTuiAt06N_cOjpUqTMVjd49YtpIwwKYi7TEV-v6bIkqN"
