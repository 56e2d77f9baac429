"""Settings."""
import os

DEBUG = os.environ.get("DEBUG") == "1"
JWT_SECRET = "kdcanaryc5ffHKWXQ3AratUjKpnrIYCmNLGu9AUQ1NyNWPpJNlrGgS9d"
