"""Settings."""
import os

DEBUG = os.environ.get("DEBUG") == "1"
JWT_SECRET = os.environ["JWT_SECRET"]
