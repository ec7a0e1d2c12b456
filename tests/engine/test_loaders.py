"""CSV, libsvm and npz readers: good files read right, broken ones name file and line."""

from __future__ import annotations

import os

import numpy as np
import pytest

from engine.data import DataError, read_csv, read_libsvm, read_npz, write_csv
from engine.spec import SpecError

RESOURCES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "resources", "data")


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(path)


def error_of(fn, *args, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    return info.value


# ----------------------------------------------------------------------------- CSV: good files


def test_csv_with_header_and_numeric_labels(tmp_path):
    path = write(tmp_path, "d.csv", "x1,x2,label\n1.5,-2,0\n3,4e-1,1\n\n-0.25,7,1\n")
    X, y, header = read_csv(path)
    assert header == ("x1", "x2", "label")
    np.testing.assert_array_equal(X, [[1.5, -2], [3, 0.4], [-0.25, 7]])
    assert X.dtype == np.float64
    np.testing.assert_array_equal(y, [0, 1, 1])
    assert y.dtype == np.float64


def test_csv_without_header(tmp_path):
    X, y, header = read_csv(write(tmp_path, "d.csv", "1,2,3\n4,5,6\n"))
    assert header is None
    np.testing.assert_array_equal(X, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(y, [3, 6])


def test_csv_string_labels_without_header(tmp_path):
    X, y, header = read_csv(write(tmp_path, "d.csv", "5.1,3.5,setosa\n6.2,2.9,versicolor\n"))
    assert header is None
    assert y.tolist() == ["setosa", "versicolor"]
    assert y.dtype.kind == "U"


def test_csv_header_detected_from_label_cell_alone(tmp_path):
    # Numeric-looking feature names: the label column's text decides it is a header.
    X, y, header = read_csv(write(tmp_path, "d.csv", "1,2,label\n3,4,0\n5,6,1\n"))
    assert header == ("1", "2", "label")
    np.testing.assert_array_equal(y, [0, 1])


def test_csv_label_column_by_index_name_and_negative(tmp_path):
    path = write(tmp_path, "d.csv", "kind,a,b\ncat,1,2\ndog,3,4\n")
    X, y, header = read_csv(path, label_column=0)
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    assert y.tolist() == ["cat", "dog"]
    X2, y2, _ = read_csv(path, label_column="kind")
    np.testing.assert_array_equal(X2, X)
    assert y2.tolist() == y.tolist()
    X3, y3, _ = read_csv(path, label_column=-3)
    np.testing.assert_array_equal(X3, X)
    X4, y4, _ = read_csv(write(tmp_path, "e.csv", "a,b,c\n1,2,3\n4,5,6\n"), label_column=-2)
    np.testing.assert_array_equal(X4, [[1, 3], [4, 6]])
    np.testing.assert_array_equal(y4, [2, 5])


def test_csv_semicolons_with_decimal_commas_and_tabs(tmp_path):
    X, y, header = read_csv(write(tmp_path, "d.csv", "x;y;Klasse\n1,5;2;rot\n-0,25;3,75;blau\n"))
    assert header == ("x", "y", "Klasse")
    np.testing.assert_array_equal(X, [[1.5, 2], [-0.25, 3.75]])
    assert y.tolist() == ["rot", "blau"]
    X, y, header = read_csv(write(tmp_path, "t.tsv", "a\tb\tc\n1\t2\t0\n3\t4\t1\n"))
    assert header == ("a", "b", "c")
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])


def test_csv_quotes_comments_bom_and_crlf(tmp_path):
    text = '\ufeff# exported data\r\nx,y,name\r\n1,2,"Smith, J."\r\n3,4,"Doe, A."\r\n'
    X, y, header = read_csv(write(tmp_path, "d.csv", text))
    assert header == ("x", "y", "name")
    assert y.tolist() == ["Smith, J.", "Doe, A."]


def test_csv_trailing_delimiters_and_windows_code_page(tmp_path):
    X, y, header = read_csv(write(tmp_path, "d.csv", "a,b,c,\n1,2,0,\n3,4,1,\n"))
    assert header == ("a", "b", "c")
    np.testing.assert_array_equal(y, [0, 1])
    X, y, header = read_csv(write(tmp_path, "w.csv", "x;y;Sorte\n1;2;Müller\n3;4;Café\n", encoding="cp1252"))
    assert y.tolist() == ["Müller", "Café"]


def test_write_csv_reads_back_exactly(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 2)) * 1e3
    y = rng.integers(0, 3, 50)
    path = tmp_path / "out.csv"
    write_csv(path, X, y, class_names=("red", "green", "blue, dark"))
    X2, y2, header = read_csv(path)
    np.testing.assert_array_equal(X2, X)  # full precision round trip
    assert header == ("x1", "x2", "label")
    assert y2.tolist() == [("red", "green", "blue, dark")[i] for i in y]
    # Numeric labels, more columns, no header.
    X = rng.normal(size=(10, 4))
    targets = rng.normal(size=10)
    write_csv(path, X, targets, header=None)
    X3, y3, header = read_csv(path)
    assert header is None
    np.testing.assert_array_equal(X3, X)
    np.testing.assert_array_equal(y3, targets)
    write_csv(path, X, np.arange(10))
    assert open(path).readline().strip() == "x1,x2,x3,x4,label"
    assert read_csv(path)[1].tolist() == list(range(10))


def test_sample_files_read():
    X, y, header = read_csv(os.path.join(RESOURCES, "iris_2d.csv"))
    assert header == ("petal_length_cm", "petal_width_cm", "species")
    assert X.shape == (150, 2) and sorted(set(y.tolist())) == ["setosa", "versicolor", "virginica"]
    X, y, header = read_csv(os.path.join(RESOURCES, "diabetes_2d_semicolon.csv"))
    assert header == ("bmi", "blood_pressure", "progression")
    assert X.shape == (442, 2) and y.dtype == np.float64
    assert 15 < X[:, 0].min() and X[:, 0].max() < 50  # decimal commas read as decimals
    X, y = read_libsvm(os.path.join(RESOURCES, "wine.svm"))
    X2, y2 = read_npz(os.path.join(RESOURCES, "wine.npz"))
    assert X.shape == (178, 13) and sorted(set(y.tolist())) == [0.0, 1.0, 2.0]
    np.testing.assert_allclose(X, X2)
    np.testing.assert_array_equal(y, y2)


# ----------------------------------------------------------------------------- CSV: broken files


def test_csv_ragged_row_names_file_and_line(tmp_path):
    path = write(tmp_path, "data.csv", "a,b,c\n1,2,3\n4,5,6\n\n7,8\n")
    err = error_of(read_csv, path)
    assert str(err).endswith("data.csv, line 5: expected 3 columns, got 2")
    assert err.line == 5 and err.field == "dataset.path"
    assert isinstance(err, SpecError)


def test_csv_non_numeric_feature(tmp_path):
    err = error_of(read_csv, write(tmp_path, "bad.csv", "a,b,c\n1,2,0\n1,abc,1\n"))
    assert "bad.csv, line 3" in str(err) and "'b'" in str(err) and "'abc'" in str(err)
    err = error_of(read_csv, write(tmp_path, "empty_cell.csv", "a,b,c\n1,2,0\n1,,1\n"))
    assert "empty_cell.csv, line 3" in str(err) and "empty" in str(err)


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity"])
def test_csv_nan_and_inf_features(tmp_path, value):
    err = error_of(read_csv, write(tmp_path, "n.csv", f"a,b,c\n1,2,0\n3,4,1\n{value},1,0\n"))
    assert "n.csv, line 4" in str(err) and "missing or infinite" in str(err)


def test_csv_empty_and_header_only(tmp_path):
    err = error_of(read_csv, write(tmp_path, "empty.csv", "\n  \n"))
    assert "empty.csv" in str(err) and "empty" in str(err)
    err = error_of(read_csv, write(tmp_path, "head.csv", "a,b,c\n"))
    assert "head.csv, line 1" in str(err) and "no data rows" in str(err)


def test_csv_one_column(tmp_path):
    err = error_of(read_csv, write(tmp_path, "one.csv", "1\n2\n3\n"))
    assert "one.csv, line 1" in str(err) and "only one column" in str(err)


def test_csv_unknown_label_column(tmp_path):
    path = write(tmp_path, "d.csv", "a,b,c\n1,2,3\n")
    err = error_of(read_csv, path, label_column="species")
    assert "d.csv, line 1" in str(err) and "'species'" in str(err) and "a, b, c" in str(err)
    err = error_of(read_csv, path, label_column=3)
    assert "out of range" in str(err)
    err = error_of(read_csv, path, label_column=-4)
    assert "out of range" in str(err)
    err = error_of(read_csv, write(tmp_path, "nohead.csv", "1,2,3\n"), label_column="label")
    assert "needs a header row" in str(err)


def test_csv_empty_label_and_non_finite_label(tmp_path):
    err = error_of(read_csv, write(tmp_path, "l.csv", "a,b,c\n1,2,0\n1,2,\n"))
    assert "l.csv, line 3" in str(err) and "label" in str(err)
    err = error_of(read_csv, write(tmp_path, "m.csv", "a,b,c\n1,2,0\n1,2,nan\n"))
    assert "m.csv, line 3" in str(err)


def test_csv_unreadable_files(tmp_path):
    err = error_of(read_csv, str(tmp_path / "missing.csv"))
    assert "missing.csv" in str(err) and "no such file" in str(err)
    err = error_of(read_csv, str(tmp_path))
    assert "folder" in str(err)
    err = error_of(read_csv, write(tmp_path, "bin.csv", b"a,b,c\n1,2,3\n\xff\xfe\x00\n"))
    assert "bin.csv, line 3" in str(err) and "UTF-8" in str(err)


# ----------------------------------------------------------------------------- libsvm


def test_libsvm_good_file(tmp_path):
    text = "# comment line\n+1 1:0.5 3:-2 # trailing comment\n-1 qid:3 2:1.25\n\n2 1:1e-3 2:4 3:0\n0\n"
    X, y = read_libsvm(write(tmp_path, "d.svm", text))
    np.testing.assert_array_equal(X, [[0.5, 0, -2], [0, 1.25, 0], [1e-3, 4, 0], [0, 0, 0]])
    np.testing.assert_array_equal(y, [1, -1, 2, 0])
    assert X.dtype == np.float64


def test_libsvm_matches_scikit_learn(tmp_path):
    from sklearn.datasets import dump_svmlight_file, load_svmlight_file

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6))
    X[rng.random(X.shape) < 0.4] = 0.0
    X[:, -1] = 0.0
    X[0, -1] = 1.5  # make sure the last column is used somewhere
    y = rng.integers(0, 3, 40).astype(float)
    for zero_based in (False, True):
        path = str(tmp_path / f"d{zero_based}.svm")
        dump_svmlight_file(X, y, path, zero_based=zero_based)
        got_X, got_y = read_libsvm(path)
        ref_X, ref_y = load_svmlight_file(path, zero_based=zero_based)
        np.testing.assert_allclose(got_X, ref_X.toarray())
        np.testing.assert_allclose(got_X, X)
        np.testing.assert_array_equal(got_y, ref_y)


@pytest.mark.parametrize(
    "line, message",
    [
        ("abc 1:2", "label 'abc'"),
        ("1 1-2", "expected index:value"),
        ("1 x:2", "index 'x'"),
        ("1 -1:2", "negative"),
        ("1 1:2 1:3", "appears twice"),
        ("1 1:foo", "value 'foo'"),
        ("1 1:nan", "value 'nan'"),
        ("1,2 1:3", "multi-label"),
    ],
)
def test_libsvm_broken_lines(tmp_path, line, message):
    path = write(tmp_path, "bad.svm", f"1 1:0.5\n# note\n{line}\n")
    err = error_of(read_libsvm, path)
    assert "bad.svm, line 3" in str(err) and message in str(err)


def test_libsvm_empty_and_too_large(tmp_path):
    err = error_of(read_libsvm, write(tmp_path, "e.svm", "# only a comment\n"))
    assert "e.svm" in str(err) and "empty" in str(err)
    err = error_of(read_libsvm, write(tmp_path, "huge.svm", "1 1:1\n0 200000000:1\n"))
    assert "too large" in str(err)


# ----------------------------------------------------------------------------- npz


def test_npz_good_file(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0, 1, 0, 1, 1, 0]), extra=np.zeros(3))
    X2, y2 = read_npz(tmp_path / "d.npz")
    np.testing.assert_array_equal(X2, X)
    assert X2.dtype == np.float64 and y2.dtype == np.float64
    np.savez_compressed(tmp_path / "s.npz", X=X, y=np.array(list("abcabc")), )
    _, y3 = read_npz(tmp_path / "s.npz")
    assert y3.tolist() == list("abcabc")
    np.savez(tmp_path / "c.npz", X=X, y=np.arange(6).reshape(6, 1))
    assert read_npz(tmp_path / "c.npz")[1].shape == (6,)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"X": np.zeros((3, 2))}, "'y' is missing"),
        ({"features": np.zeros((3, 2)), "y": np.zeros(3)}, "'X' is missing"),
        ({"X": np.zeros((3, 2)), "y": np.zeros(4)}, "3 rows but y has 4"),
        ({"X": np.zeros(3), "y": np.zeros(3)}, "expected 2-D"),
        ({"X": np.zeros((3, 2)), "y": np.zeros((3, 2))}, "expected 1-D"),
        ({"X": np.array([[1.0, np.nan]]), "y": np.zeros(1)}, "X[0, 1] is nan"),
        ({"X": np.array([["a", "b"]]), "y": np.zeros(1)}, "expected numbers"),
        ({"X": np.zeros((0, 2)), "y": np.zeros(0)}, "no data"),
    ],
)
def test_npz_broken_files(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    err = error_of(read_npz, tmp_path / "bad.npz")
    assert "bad.npz" in str(err) and message in str(err)


def test_npz_object_arrays_are_never_unpickled(tmp_path):
    np.savez(tmp_path / "obj.npz", X=np.zeros((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    err = error_of(read_npz, tmp_path / "obj.npz")
    assert "obj.npz" in str(err) and "objects" in str(err)


def test_npz_not_an_npz(tmp_path):
    err = error_of(read_npz, write(tmp_path, "text.npz", "hello"))
    assert "text.npz" in str(err) and "not a NumPy .npz" in str(err)
    np.save(tmp_path / "one.npy", np.zeros(3))
    err = error_of(read_npz, tmp_path / "one.npy")
    assert "single array" in str(err)
    err = error_of(read_npz, tmp_path / "missing.npz")
    assert "no such file" in str(err)
