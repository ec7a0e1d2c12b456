"""The job-output parsers: real Keras samples, CSVLogger, JSON lines, chunked input.

The expected values below were read off the sample files by eye.
"""

from __future__ import annotations

import json
import math
import os
import random

import pytest

from remote.logparse import (
    KerasLogParser,
    detect_log_format,
    keras_name_to_ours,
    parse_csv_log,
    parse_jsonl,
    parse_keras_evaluations,
    parse_keras_log,
    parse_metrics_file,
    to_metrics_records,
)

SAMPLES = os.path.join(os.path.dirname(__file__), "data", "keras-logs")


def sample(name: str) -> str:
    with open(os.path.join(SAMPLES, name), encoding="utf-8") as fh:
        return fh.read()


# file -> (epoch records, evaluate lines), every value as printed in the file.
EXPECTED = {
    "keras2-acc-lr.out": (
        [
            {"epoch": 1, "loss": 0.2118, "acc": 0.9166, "val_loss": 0.0951, "val_acc": 0.9664, "lr": 0.0010,
             "epoch_time_s": 62.0},
            {"epoch": 2, "loss": 0.0696, "acc": 0.9827, "val_loss": 0.0608, "val_acc": 0.9813, "lr": 0.0010,
             "epoch_time_s": 49.0},
            {"epoch": 3, "loss": 0.0461, "acc": 0.9901, "val_loss": 0.0484, "val_acc": 0.9863, "lr": 0.0010,
             "epoch_time_s": 48.0},
        ],
        [],
    ),
    "keras2-evaluate.out": (
        [
            {"epoch": 1, "loss": 0.6597, "accuracy": 0.5632, "val_loss": 0.4223, "val_accuracy": 0.8080,
             "epoch_time_s": 9.0},
            {"epoch": 2, "loss": 0.3168, "accuracy": 0.8676, "val_loss": 0.3400, "val_accuracy": 0.8596,
             "epoch_time_s": 1.0},
            {"epoch": 3, "loss": 0.1406, "accuracy": 0.9501, "val_loss": 0.3697, "val_accuracy": 0.8750,
             "epoch_time_s": 1.0},
        ],
        [],
    ),
    "keras2-scheduler.out": (
        [
            {"epoch": 1, "loss": 1.1956, "accuracy": 0.5866, "val_loss": 0.8274, "val_accuracy": 0.7155,
             "epoch_time_s": 120.0},
            {"epoch": 2, "loss": 0.6822, "accuracy": 0.7675, "val_loss": 1.1287, "val_accuracy": 0.6351,
             "epoch_time_s": 118.0},
            {"epoch": 3, "loss": 0.4651, "accuracy": 0.8458, "val_loss": 0.5581, "val_accuracy": 0.8128,
             "epoch_time_s": 119.0},
        ],
        [],
    ),
    "keras2-sparse.out": (
        [
            {"epoch": 1, "loss": 0.1235, "sparse_categorical_accuracy": 0.9620, "val_loss": 0.0462,
             "val_sparse_categorical_accuracy": 0.9856, "epoch_time_s": 17.0},
            {"epoch": 2, "loss": 0.0333, "sparse_categorical_accuracy": 0.9894, "val_loss": 0.0401,
             "val_sparse_categorical_accuracy": 0.9878, "epoch_time_s": 7.0},
        ],
        [],
    ),
    "keras3-fit-evaluate.out": (
        [
            {"epoch": 5, "accuracy": 0.9866, "loss": 0.0570, "val_accuracy": 0.9877, "val_loss": 0.0519,
             "epoch_time_s": 14.0},
            {"epoch": 6, "accuracy": 0.9884, "loss": 0.0458, "val_accuracy": 0.9911, "val_loss": 0.0453,
             "epoch_time_s": 14.0},
        ],
        # The 438/438 line after training is model.evaluate, not an epoch.
        [{"accuracy": 0.9900, "loss": 0.0435}],
    ),
    "keras3-multioutput.out": (
        [
            {"epoch": 1, "classification_output_accuracy": 0.3720, "classification_output_loss": 1.8397,
             "loss": 22.0379, "regression_output_loss": 19.8083, "regression_output_mae": 2.8177,
             "epoch_time_s": 2.0},
        ],
        [],
    ),
    "keras3-verbose2.out": (
        [
            {"epoch": 49, "loss": 20443820.0, "mae": 1786.9036, "val_loss": 19821944.0, "val_mae": 1884.9220,
             "epoch_time_s": 12.0},
            {"epoch": 50, "loss": 20454768.0, "mae": 1786.2712, "val_loss": 19930728.0, "val_mae": 1638.6222,
             "epoch_time_s": 12.0},
        ],
        # The 1563/1563 predict bar carries no metrics: neither an epoch nor an evaluation.
        [],
    ),
    "keras3-warnings.out": (
        [
            {"epoch": 1, "accuracy": 0.8785, "loss": 0.4982, "val_accuracy": 1.0000, "val_loss": 0.0227,
             "epoch_time_s": 2.0},
            # "0s 7ms/step": Keras rounds the epoch down to 0 s; 25 steps x 7 ms is what it took.
            {"epoch": 2, "accuracy": 1.0000, "loss": 0.0089, "val_accuracy": 1.0000, "val_loss": 3.8914e-04,
             "epoch_time_s": 25 * 7.0 * 1e-3},
        ],
        [],
    ),
    "keras3-xla.out": (
        # The excerpt lost the "Epoch 1/2" header among XLA's log lines; the single bar
        # before "Epoch 2/2" is epoch 1.
        [
            {"epoch": 1, "loss": 0.3663, "epoch_time_s": 2.0},
            {"epoch": 2, "loss": 0.3627, "epoch_time_s": 32 * 2.0 * 1e-3},  # "0s 2ms/step"
        ],
        [],
    ),
}


def test_every_sample_has_expectations():
    names = sorted(n for n in os.listdir(SAMPLES) if n.endswith(".out"))
    assert names == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_keras_samples(name):
    text = sample(name)
    epochs, evaluations = EXPECTED[name]
    assert parse_keras_log(text) == epochs
    assert parse_keras_evaluations(text) == evaluations


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_chunked_text_gives_the_same_records(name):
    text = sample(name)
    expected = parse_keras_log(text)
    rng = random.Random(name)
    for _ in range(5):
        parser = KerasLogParser()
        got = []
        pos = 0
        while pos < len(text):
            size = rng.randint(1, 40)
            got.extend(parser.feed(text[pos:pos + size]))
            pos += size
        got.extend(parser.finish())
        assert got == expected
        assert parser.records == expected


@pytest.mark.parametrize("name", ["keras3-warnings.out", "keras2-acc-lr.out"])
def test_bytes_split_inside_a_character(name):
    data = sample(name).encode("utf-8")
    expected = parse_keras_log(data.decode("utf-8"))
    for cut in range(1, len(data), 7):
        parser = KerasLogParser()
        got = parser.feed(data[:cut]) + parser.feed(data[cut:]) + parser.finish()
        assert got == expected


def test_records_arrive_as_soon_as_their_line_is_whole():
    text = sample("keras2-evaluate.out")
    lines = text.splitlines(keepends=True)
    parser = KerasLogParser()
    assert parser.feed(lines[0]) == []  # the header alone
    half = len(lines[1]) // 2
    assert parser.feed(lines[1][:half]) == []  # a line split mid-way
    new = parser.feed(lines[1][half:])
    assert [r["epoch"] for r in new] == [1]
    assert parser.total_epochs == 3


def test_carriage_return_updates_keras2_dynamic_display():
    # Keras 2 rewrites its bar with backspaces and a carriage return; the ETA states and
    # the last batch before validation must not count, only the final state.
    states = [
        "  1/118 [..............................] - ETA: 1:02 - loss: 0.7000 - acc: 0.5000",
        " 60/118 [==============>...............] - ETA: 30s - loss: 0.4000 - acc: 0.8000",
        "118/118 [==============================] - ETA: 0s - loss: 0.2118 - acc: 0.9166",
        "118/118 [==============================] - 62s 500ms/step - loss: 0.2118 - acc: 0.9166"
        " - val_loss: 0.0951 - val_acc: 0.9664",
    ]
    line = ""
    width = 0
    for state in states:
        line += "\b" * width + "\r" + state
        width = len(state)
    text = "Epoch 1/2\n" + line + "\n"
    assert parse_keras_log(text) == [
        {"epoch": 1, "loss": 0.2118, "acc": 0.9166, "val_loss": 0.0951, "val_acc": 0.9664, "epoch_time_s": 62.0}
    ]


def test_keras3_ansi_colours_and_eta_states():
    # What Keras 3's Progbar really writes on Linux: bold/colour escapes, \b run, \r.
    def state(cur, eta, rest):
        return (f"\x1b[1m{cur:2d}/25\x1b[0m \x1b[32m{'━' * (cur * 20 // 25)}\x1b[0m"
                f"\x1b[37m{'━' * (20 - cur * 20 // 25)}\x1b[0m \x1b[1m{eta}\x1b[0m {rest}")
    text = (
        "Epoch 1/10\n"
        + "\r" + state(1, "30s", "1s/step - accuracy: 0.2000 - loss: nan")
        + "\b" * 60 + "\r" + state(25, "0s", "15ms/step - accuracy: 0.8700 - loss: 0.5012")
        + "\b" * 60 + "\r" + state(25, "2s", "15ms/step - accuracy: 0.8785 - loss: 0.4982 - val_accuracy: 1.0000"
                                       " - val_loss: 0.0227 ")
        + "\n"
    )
    assert parse_keras_log(text) == [
        {"epoch": 1, "accuracy": 0.8785, "loss": 0.4982, "val_accuracy": 1.0, "val_loss": 0.0227, "epoch_time_s": 2.0}
    ]


def test_line_by_line_progress_keeps_only_complete_bars():
    # Non-interactive Keras 2 prints each update on its own line, with ETA until the end.
    text = (
        "Epoch 1/1\n"
        "  1/313 [..............................] - ETA: 2:41 - loss: 2.3290 - accuracy: 0.0625\n"
        " 42/313 [===>..........................] - ETA: 0s - loss: 1.2 - accuracy: 0.61\n"
        "313/313 [==============================] - 2s 5ms/step - loss: 0.4900 - accuracy: 0.8600\n"
    )
    assert parse_keras_log(text) == [{"epoch": 1, "loss": 0.49, "accuracy": 0.86, "epoch_time_s": 2.0}]


def test_scientific_notation_nan_inf_and_multi_output_names():
    text = (
        "Epoch 1/3\n"
        "10/10 [==============================] - 0s 3ms/step - loss: nan - dense_1_loss: 1.2000e-05"
        " - dense_2_loss: inf - dense_1_acc: 0.5000\n"
        "Epoch 2/3\n"
        "10/10 - 0s - loss: 1.5e+03 - dense_1_loss: -2.5E-4 - 2s/epoch - 3ms/step\n"
    )
    first, second = parse_keras_log(text)
    assert math.isnan(first["loss"])
    assert first["dense_1_loss"] == 1.2e-05
    assert first["dense_2_loss"] == math.inf
    assert first["dense_1_acc"] == 0.5
    assert second == {"epoch": 2, "loss": 1500.0, "dense_1_loss": -2.5e-4, "epoch_time_s": 0.0}


def test_old_verbose2_lines_and_callback_messages_between():
    text = (
        "Train on 60000 samples, validate on 10000 samples\n"
        "Epoch 1/2\n"
        " - 5s - loss: 0.3000 - acc: 0.9100 - val_loss: 0.1500 - val_acc: 0.9500\n"
        "\n"
        "Epoch 00001: val_loss improved from inf to 0.15000, saving model to best.h5\n"
        "Epoch 2/2\n"
        "WARNING:tensorflow:Callback method `on_train_batch_end` is slow compared to the batch time\n"
        " - 4s - loss: 0.2000 - acc: 0.9400 - val_loss: 0.1200 - val_acc: 0.9600\n"
        "Test loss - 0.12\n"
    )
    assert parse_keras_log(text) == [
        {"epoch": 1, "loss": 0.3, "acc": 0.91, "val_loss": 0.15, "val_acc": 0.95, "epoch_time_s": 5.0},
        {"epoch": 2, "loss": 0.2, "acc": 0.94, "val_loss": 0.12, "val_acc": 0.96, "epoch_time_s": 4.0},
    ]


def test_unknown_length_epoch_takes_its_last_state():
    text = (
        "Epoch 1/2\n"
        "     50/Unknown 3s 60ms/step - loss: 0.9000\n"
        "    100/Unknown 6s 60ms/step - loss: 0.8000\n"
        "Epoch 2/2\n"
        "100/100 ━━━━━━━━━━━━━━━━━━━━ 5s 50ms/step - loss: 0.7000\n"
    )
    assert parse_keras_log(text) == [
        {"epoch": 1, "loss": 0.8, "epoch_time_s": 6.0},
        {"epoch": 2, "loss": 0.7, "epoch_time_s": 5.0},
    ]


def test_evaluate_before_fit_stays_an_evaluation():
    text = (
        "313/313 [==============================] - 1s 2ms/step - loss: 2.3000 - accuracy: 0.1000\n"
        "Epoch 1/1\n"
        "1875/1875 [==============================] - 4s 2ms/step - loss: 0.3000 - accuracy: 0.9100\n"
    )
    assert parse_keras_log(text) == [{"epoch": 1, "loss": 0.3, "accuracy": 0.91, "epoch_time_s": 4.0}]
    assert parse_keras_evaluations(text) == [{"loss": 2.3, "accuracy": 0.1}]


def test_garbage_gives_no_records():
    assert parse_keras_log("") == []
    assert parse_keras_log("Traceback (most recent call last):\n  File x, line 3\nValueError: bad - loss: x\n") == []
    assert parse_keras_log("\x00\xff - - : :\n1/ [ - loss:\n") == []


# ----------------------------------------------------------------------------- CSV


def test_csv_logger_file():
    text = (
        "epoch,accuracy,loss,val_accuracy,val_loss\n"
        "0,0.5632,0.6597,0.8080,0.4223\n"
        "1,0.8676,0.3168,0.8596,0.3400\n"
        "2,0.9501,nan,0.8750,3.6970e-01\n"
    )
    records = parse_csv_log(text)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[0] == {"epoch": 1, "accuracy": 0.5632, "loss": 0.6597, "val_accuracy": 0.808, "val_loss": 0.4223}
    assert math.isnan(records[2]["loss"]) and records[2]["val_loss"] == 0.3697


def test_csv_separator_repeated_header_empty_cells_and_partial_last_line():
    text = (
        "epoch;loss;val_loss;lr\r\n"
        "0;1.5;;0.01\r\n"
        "epoch;loss;val_loss;lr\r\n"
        "1;1.2;1.3;0.01\r\n"
        "2;1.1"
    )
    assert parse_csv_log(text) == [
        {"epoch": 1, "loss": 1.5, "lr": 0.01},
        {"epoch": 2, "loss": 1.2, "val_loss": 1.3, "lr": 0.01},
    ]
    assert parse_csv_log("") == []
    assert parse_csv_log("a,b\n1,2\n") == []  # not a CSVLogger file


# ----------------------------------------------------------------------------- JSON lines


def test_jsonl_ignores_a_broken_last_line():
    rows = [{"epoch": 1, "train_loss": 0.9, "ranks": 2}, {"epoch": 2, "train_loss": float("nan")}]
    text = "\n".join(json.dumps(r) for r in rows) + '\n{"epoch": 3, "train_lo'
    records = parse_jsonl(text)
    assert len(records) == 2
    assert records[0] == rows[0]
    assert math.isnan(records[1]["train_loss"])
    assert parse_jsonl("") == []
    assert parse_jsonl("[1, 2]\nnot json\n") == []


# ----------------------------------------------------------------------------- names, detection


def test_name_mapping():
    assert keras_name_to_ours("loss") == "train_loss"
    assert keras_name_to_ours("val_loss") == "test_loss"
    assert keras_name_to_ours("accuracy") == "train_accuracy"
    assert keras_name_to_ours("acc") == "train_accuracy"
    assert keras_name_to_ours("val_accuracy") == "test_accuracy"
    assert keras_name_to_ours("val_acc") == "test_accuracy"
    assert keras_name_to_ours("val_sparse_categorical_accuracy") == "test_accuracy"
    assert keras_name_to_ours("lr") == "learning_rate"
    assert keras_name_to_ours("dense_1_loss") == "dense_1_loss"


def test_to_metrics_records_adds_wall_time_from_epoch_times():
    records = to_metrics_records(parse_keras_log(sample("keras2-acc-lr.out")))
    assert [r["elapsed_s"] for r in records] == [62.0, 111.0, 159.0]
    assert records[0]["train_loss"] == 0.2118 and records[0]["test_loss"] == 0.0951
    assert records[0]["train_accuracy"] == 0.9166 and records[0]["test_accuracy"] == 0.9664
    assert records[0]["learning_rate"] == 0.001
    sparse = to_metrics_records(parse_keras_log(sample("keras2-sparse.out")))
    assert sparse[1]["train_accuracy"] == 0.9894 and sparse[1]["test_accuracy"] == 0.9878
    # No epoch times (CSVLogger): no wall-time axis invented.
    assert "elapsed_s" not in to_metrics_records([{"epoch": 1, "loss": 1.0}])[0]


def test_detect_and_parse_metrics_file():
    csv_text = "epoch,loss,val_loss\n0,1.0,1.1\n"
    jsonl_text = '{"epoch": 1, "train_loss": 0.5}\n'
    keras_text = sample("keras2-evaluate.out")
    assert detect_log_format("log.csv", "") == "csv"
    assert detect_log_format("metrics.jsonl", "") == "jsonl"
    assert detect_log_format("slurm-12.out", csv_text) == "csv"
    assert detect_log_format("slurm-12.out", jsonl_text) == "jsonl"
    assert detect_log_format("slurm-12.out", keras_text) == "keras"
    assert parse_metrics_file("training.log", csv_text) == [{"epoch": 1, "train_loss": 1.0, "test_loss": 1.1}]
    assert parse_metrics_file("metrics.jsonl", jsonl_text) == [{"epoch": 1, "train_loss": 0.5}]
    from_keras = parse_metrics_file("slurm-12.out", keras_text)
    assert [r["epoch"] for r in from_keras] == [1, 2, 3]
    assert from_keras[2]["test_accuracy"] == 0.875
    assert [r["elapsed_s"] for r in from_keras] == [9.0, 10.0, 11.0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_resuming_from_safe_offset_neither_loses_nor_repeats(name):
    data = sample(name).encode("utf-8")
    expected = parse_keras_log(data.decode("utf-8"))
    for cut in range(0, len(data) + 1, 13):
        first = KerasLogParser()
        got = first.feed(data[:cut])
        # A restart: a new parser continues from the stored safe offset.
        second = KerasLogParser()
        resumed = data[first.safe_offset:]
        got += second.feed(resumed) + second.finish()
        assert got == expected, cut
