"""The forked reader's pipe: only keydrift's own types load from it, and the ordinary pickle
path still refuses secret values."""

from __future__ import annotations

import io
import os
import pickle

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
