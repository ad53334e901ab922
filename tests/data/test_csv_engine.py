"""The pyarrow CSV path reads exactly what pandas' default parser reads, or steps aside."""

from __future__ import annotations

import pandas as pd
import pytest

from honed.data.csv_engine import read_csv, read_csv_arrow
from honed.data.tables import read_table, table_raw

#: numbers, integers with a gap, booleans, quoted text with commas, quotes and a newline,
#: every spelling of a missing value pandas knows, a typo-free numeric column
MIXED = (
    "x,count,flag,city,note,score,label\n"
    '1.5,3,True,Paris,"a, b",NA,cat\n'
    '-2.25e-3,,False,,"say ""hi""",0.1,dog\n'
    '0.1,7,True,N/A,"two\nlines",null,cat\n'
    ',12,False,Lyon,plain,#N/A,dog\n'
    '2.5e15,-4,True,None,"",3,cat\n'
)

#: what pyarrow reads differently: each must go to the default parser
DIFFERENT = {
    "spaces after commas": "a, b\n1, 2\n3, x y\n",
    "spaced text": "a,b\n1,  x\n2,y\n",
    "dates": "a,b\n2020-01-01,1\n2020-01-02,2\n",
    "times": "a,b\n10:00,1\n11:00,2\n",
    "past int64": "a,b\n1,18446744073709551615\n2,3\n",
    "header only": "a,b\n",
    "ragged": "a,b\n1,2\n3,4,5\n",
}


def _default(path) -> pd.DataFrame:
    return pd.read_csv(path, skipinitialspace=True, low_memory=False)


def _assert_identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert [str(t) for t in a.dtypes] == [str(t) for t in b.dtypes]
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_a_mixed_csv_takes_the_pyarrow_path_and_reads_identically(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(MIXED)
    fast = read_csv_arrow(path)
    assert fast is not None
    _assert_identical(fast, _default(path))
    _assert_identical(read_csv(path), _default(path))


def test_floats_parse_to_the_same_bits(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    values = rng.normal(size=(2000, 3)) * 10.0 ** rng.integers(-8, 9, size=(2000, 3))
    path = tmp_path / "floats.csv"
    pd.DataFrame(values, columns=["a", "b", "c"]).to_csv(path, index=False,
                                                         float_format="%.17g")
    fast = read_csv_arrow(path)
    assert fast is not None
    _assert_identical(fast, _default(path))


@pytest.mark.parametrize("name", sorted(DIFFERENT))
def test_what_pyarrow_reads_differently_goes_to_the_default_parser(tmp_path, name):
    path = tmp_path / "table.csv"
    path.write_text(DIFFERENT[name])
    assert read_csv_arrow(path) is None
    try:
        expected = _default(path)
    except pd.errors.ParserError:
        with pytest.raises(pd.errors.ParserError):
            read_csv(path)
        return
    _assert_identical(read_csv(path), expected)


def test_the_table_reader_gives_what_it_gave_with_the_default_parser(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(MIXED)
    raw = read_table(path, target="label", features=None)
    before = table_raw(_default(path), origin=str(path), target="label", features=None)
    assert raw.extra["dtypes"] == before.extra["dtypes"]
    pd.testing.assert_frame_equal(raw.x, before.x, check_exact=True)
    assert list(raw.y) == list(before.y)
