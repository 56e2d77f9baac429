"""The forked reader's pipe: only keydrift's own types load from it, and the ordinary pickle
path still refuses secret values."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import pytest

from keydrift.check.parallel import _ResultPickler, _ResultUnpickler
from keydrift.secret import SecretValue


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch PWNED",))


def test_forked_reader_stream_refuses_foreign_callables(tmp_path: pytest.TempPathFactory) -> None:
    stream = pickle.dumps([(0, _Evil())])
    with pytest.raises(pickle.UnpicklingError, match="unexpected type"):
        _ResultUnpickler(io.BytesIO(stream)).load()


def test_secret_values_cross_only_the_result_pickler() -> None:
    value = SecretValue("a-secret-that-must-not-be-pickled-anywhere-else")
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(value)
    out = io.BytesIO()
    _ResultPickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump([(1, value)])
    loaded = _ResultUnpickler(io.BytesIO(out.getvalue())).load()
    assert loaded == [(1, value)]
    assert type(loaded[0][1]) is SecretValue


def test_values_in_a_check_result_stay_unpicklable_and_out_of_its_repr(tmp_path: Path) -> None:
    """A CheckResult keeps its model (every recorded value): the values still refuse the plain
    pickle path, and neither the result's repr nor an assignment's shows one."""
    from keydrift.check import run_check
    from keydrift.model.types import Assignment, Location

    secret = "kd-canary-" + "q7Zp2" * 8
    (tmp_path / ".env.production").write_text(f"JWT_SECRET={secret}\n", encoding="utf-8")
    result = run_check([str(tmp_path)], jobs=1)
    assert result.model is not None
    values = [a for a in result.model.assignments if a.value is not None]
    assert values and any(a.value.equals(secret) for a in values if a.value is not None)
    assert secret not in repr(result)
    assert all(secret not in repr(a) for a in values)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(result)
    # Assignments pickle as their constructor and fields: a value inside still refuses.
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Assignment("JWT_SECRET", SecretValue(secret), Location(".env"), "dotenv", None))
