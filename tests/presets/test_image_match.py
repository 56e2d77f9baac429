"""Image matching: each preset's glob patterns compiled into one expression must match exactly
what ``fnmatch.fnmatchcase`` matches pattern by pattern (the one-by-one way it was written)."""

from __future__ import annotations

import fnmatch
import random

from keydrift.presets.interface import all_presets, normalize_image


def _reference(patterns: tuple[str, ...], excluded: tuple[str, ...], image: str) -> bool:
    names = normalize_image(image)
    if any(fnmatch.fnmatchcase(n, p) for n in names for p in excluded):
        return False
    return any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns)


def test_compiled_patterns_match_what_fnmatch_matches() -> None:
    rng = random.Random(23)
    presets = all_presets()
    stems: list[str] = []
    for preset in presets:
        for pattern in (*preset.image_patterns, *preset.excluded_images):
            stems.append(pattern.replace("*", rng.choice(["", "x", "-worker", "/sub"])))
            stems.append(pattern.replace("*", ""))
    stems += ["postgres", "redis:7", "library/nginx", "nginx", "ghcr.io/acme/api", "acme/api"]
    registries = ["", "docker.io/", "ghcr.io/", "registry.example.com:5000/", "localhost/",
                  "mirror.gcr.io/", "index.docker.io/"]
    tags = ["", ":latest", ":1.2.3", "@sha256:" + "ab" * 32, ":v2-alpine"]
    images = [
        rng.choice(registries) + stem + rng.choice(tags) for stem in stems for _ in range(10)
    ]
    images += [i.upper() for i in images[:200]] + ["", " ", "x", "[abc]", "*"]
    matched = 0
    for preset in presets:
        for image in images:
            want = _reference(preset.image_patterns, preset.excluded_images, image) if image.strip() \
                else False
            assert preset.match_image(image) is want, (preset.id, image)
            if image.strip():
                assert preset.match_names(normalize_image(image)) is want
            matched += want
    assert matched > 200 and len(images) > 600  # both verdicts, over many images
