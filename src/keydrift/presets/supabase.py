"""Supabase (self-hosted): one ``JWT_SECRET`` under each service's own name, and the static
``ANON_KEY`` / ``SERVICE_ROLE_KEY`` JWTs it must have signed.

Sources: supabase/supabase ``docker/docker-compose.yml`` passes ``${JWT_SECRET}`` as
``GOTRUE_JWT_SECRET`` (auth), ``PGRST_JWT_SECRET`` (rest, storage), ``API_JWT_SECRET`` (realtime,
supavisor), ``AUTH_JWT_SECRET`` (studio) and ``JWT_SECRET`` (functions, db); auth signs, the
others verify. ``docker/utils/generate-keys.sh`` makes the secret and signs both static keys with
it; ``docs/guides/self-hosting/docker`` says to regenerate all three together.
"""

from __future__ import annotations

from keydrift.presets.interface import Preset
from keydrift.spec import SecretKind, SecretSpec


class Supabase(Preset):
    id = "supabase"
    title = "Supabase"
    spec = SecretSpec(
        name="supabase",
        variables=(
            "GOTRUE_JWT_SECRET", "PGRST_JWT_SECRET", "API_JWT_SECRET", "AUTH_JWT_SECRET",
            "JWT_SECRET",
        ),
        previous_variables=(),
        kind=SecretKind.SIGNING_KEY,
    )
    extra_specs = (
        SecretSpec(
            name="supabase-static-keys",
            variables=("ANON_KEY", "SERVICE_ROLE_KEY", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_KEY"),
            previous_variables=(),
            kind=SecretKind.STATIC_JWT,
        ),
    )
    image_patterns = (
        "supabase/gotrue", "supabase/auth", "postgrest/postgrest", "supabase/postgrest",
        "supabase/realtime", "supabase/storage-api", "supabase/studio", "supabase/edge-runtime",
        "supabase/supavisor", "supabase/postgres",
    )
    unset_behaviour = (
        "Supabase's services start with an empty JWT secret: auth cannot sign and every other "
        "service rejects the anon and service-role keys"
    )
    must_share = True
    generates_when_unset = False
    docs_url = "https://supabase.com/docs/guides/self-hosting/docker#securing-your-services"
