"""Named regressions: a configuration file found in an untrusted tree is read only when it is a
regular file inside the tree (no symbolic link out, no FIFO that would hang)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from keydrift.errors import ConfigError
from keydrift.model.config import load_config


def test_security_config_symlink_out_of_the_tree_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text('environments = ["secret-env"]\n')
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "keydrift.toml").symlink_to(outside)
    with pytest.raises(ConfigError) as err:
        load_config(str(tree))
    assert "symbolic link" in err.value.message
    # Named explicitly, the user's own file may be a link: that is their choice, not the tree's.
    assert load_config(str(tree), str(tree / "keydrift.toml")).environments == ("secret-env",)


def test_security_config_fifo_does_not_hang(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    os.mkfifo(tree / "pyproject.toml")
    code = ("from keydrift.model.config import load_config\n"
            "from keydrift.errors import ConfigError\n"
            f"try:\n    load_config({str(tree)!r})\nexcept ConfigError as e:\n    print(e.message)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20,
                          check=False)
    assert "not a regular file" in proc.stdout
