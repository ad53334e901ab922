"""CSV files compressed with gzip, bzip2 or xz read like the plain file."""

from __future__ import annotations

import bz2
import gzip
import lzma

import numpy as np
import pytest

from honed.data import prepare_data
from honed.errors import DataError

from .conftest import mixed_table, spec

OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


@pytest.mark.parametrize("suffix", sorted(OPENERS))
def test_a_compressed_csv_reads_like_the_plain_one(tmp_path, suffix):
    text = mixed_table().to_csv(index=False).encode()
    (tmp_path / "plain.csv").write_bytes(text)
    with OPENERS[suffix](tmp_path / f"packed.csv{suffix.upper()}", "wb") as out:
        out.write(text)  # an upper-case suffix too: names come from many systems
    plain = prepare_data(spec(tmp_path / "plain.csv", target="label"), seed=0)
    packed = prepare_data(spec(tmp_path / f"packed.csv{suffix.upper()}", target="label"), seed=0)
    np.testing.assert_array_equal(plain.train.x, packed.train.x)
    assert plain.preprocess["columns"] == packed.preprocess["columns"]


@pytest.mark.parametrize("suffix", sorted(OPENERS))
def test_a_corrupt_or_cut_archive_is_one_line_naming_it(tmp_path, suffix):
    whole = tmp_path / f"whole.csv{suffix}"
    with OPENERS[suffix](whole, "wb") as out:
        out.write(mixed_table().to_csv(index=False).encode())
    cut = tmp_path / f"cut.csv{suffix}"
    cut.write_bytes(whole.read_bytes()[:40])
    junk = tmp_path / f"junk.csv{suffix}"
    junk.write_bytes(b"this is not compressed at all\n" * 20)
    for path in (cut, junk):
        with pytest.raises(DataError, match=f"^cannot read {path}: "):
            prepare_data(spec(path, target="label"), seed=0)


def test_other_compressed_files_are_still_refused(tmp_path):
    path = tmp_path / "table.txt.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    with pytest.raises(DataError, match="cannot tell how to read"):
        prepare_data(spec(path, target="b"), seed=0)
