"""The command-line contracts: exit codes and JSON, through the installed `mlgate` command."""

import json
import subprocess
import sys

import pytest

from mlgate.demo import simulator
from tests.helpers import HOTEL_SPEC, mlgate


def validate(data, *more):
    """`mlgate validate` of the file `data` as the flights of 2013-03-05, in JSON."""
    return mlgate(
        "validate", "--spec", "flights", "--ds", "2013-03-05", "--data", str(data), *more, "--json"
    )


def drift(reference, current):
    """`mlgate drift` of the folder `current` against the folder `reference`, in JSON."""
    return mlgate(
        "drift",
        "--spec",
        "flights",
        "--reference",
        str(reference),
        "--current",
        str(current),
        "--json",
    )


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    """Three weeks of real deliveries, laid out as the landing zone."""
    from mlgate.lake.store import Lake

    root = tmp_path_factory.mktemp("cli") / "lake"
    simulator.simulate(Lake.from_uri(f"file://{root}"), "2013-02-12", "2013-03-05", outcomes=False)
    return root / "landing" / "flights"


def test_validate_passes_a_real_day_with_history(landing):
    out = validate(landing / "ds=2013-03-05" / "flights.csv", "--history", str(landing))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "success": True,
        "ds": "2013-03-05",
        "rows": 965,
        "failures": [],
        "notes": [],
    }


def test_validate_rejects_with_exit_1_and_reasons(landing, tmp_path):
    features, _ = simulator.day_frames("2013-03-05")
    bad = tmp_path / "flights.parquet"
    features.assign(origin=features["origin"].str.lower()).head(200).to_parquet(bad)
    out = validate(bad, "--history", str(landing))
    assert out.returncode == 1
    result = json.loads(out.stdout)
    assert result["success"] is False and result["rows"] == 200
    assert {"allowed_values", "row_count", "slice_volume"} <= {
        f["check"] for f in result["failures"]
    }
    assert any(f["column"] == "origin" and "'ewr'" in f["observed"] for f in result["failures"])


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_validate_an_empty_or_binary_file_is_a_rejection_not_a_traceback(tmp_path, content):
    path = tmp_path / "flights.csv"
    path.write_bytes(content)
    out = validate(path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert json.loads(out.stdout)["failures"][0]["reason"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["validate", "--spec", "flights", "--ds", "2013-13-01", "--data", "x.csv"], "not a date"),
        (["validate", "--spec", "nope", "--ds", "2013-03-05", "--data", "x.csv"], "no spec 'nope'"),
        (
            ["validate", "--spec", "flights", "--ds", "2013-03-05", "--data", "/no/such.csv"],
            "no such file",
        ),
        (
            ["drift", "--spec", "flights", "--reference", "/no/such", "--current", "/no/such"],
            "no such file or directory",
        ),
        (["validate", "--spec", "flights"], "required"),
        (["drift", "--spec", "flights", "--current", "x.csv"], "give --reference and --current"),
        (
            [
                "drift",
                "--spec",
                "flights",
                "--report",
                "2013-03-05",
                "--lake",
                "file:///no/such/lake",
            ],
            "run the monitor DAG",
        ),
        (["land", "--spec", "flights", "--features", "/no/such.csv"], "no such file"),
        (["run", "--spec", "flights", "--start", "2013-03-05", "--end", "2013-03-01"], "after"),
        (
            ["simulate", "--spec", str(HOTEL_SPEC), "--start", "2016-07-02", "--end", "2016-07-03"],
            "flights demo's simulator",
        ),
    ],
)
def test_usage_errors_exit_2_with_a_message(args, words):
    out = mlgate(*args)
    assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr


def test_drift_json_contract_and_a_unit_change(landing, tmp_path):
    current = tmp_path / "current"
    for ds in ("2013-03-04", "2013-03-05"):
        features, _ = simulator.day_frames(ds)
        (current / f"ds={ds}").mkdir(parents=True)
        features.assign(temp=(features["temp"] - 32) / 1.8).to_csv(
            current / f"ds={ds}" / "flights.csv", index=False
        )
    out = drift(landing, current)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert {"drift", "features"} <= set(result)
    assert {
        "name",
        "method",
        "statistic",
        "threshold",
        "p_value",
        "drifted",
        "bins",
        "reference_shares",
        "current_shares",
    } <= set(result["features"][0])
    by_name = {f["name"]: f for f in result["features"]}
    assert by_name["temp"]["drifted"] is True and by_name["carrier"]["drifted"] is False
    assert by_name["temp"]["method"] == "ks" and by_name["carrier"]["method"] == "jensen_shannon"
    assert "temp" in result["drifted"] and result["false_alarm_rate"] == 0.01


def test_drift_of_data_against_itself_is_none(landing):
    out = drift(landing, landing)
    assert out.returncode == 0
    result = json.loads(out.stdout)
    assert result["drift"] is False and not any(f["drifted"] for f in result["features"])


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """A random split of 8,000 real 2013 flights (the delivered features feed) into a
    reference and a current half, both drawn from one pool."""
    year = simulator.flights_2013()
    rows = year.sample(8000, random_state=13)[simulator.FEATURE_FEED_COLUMNS]
    folder = tmp_path_factory.mktemp("split")
    reference, current = rows.iloc[:4000], rows.iloc[4000:].reset_index(drop=True)
    reference.to_parquet(folder / "reference.parquet", index=False)
    return {"folder": folder, "current": current, "temp_sd": float(year["temp"].std())}


def quarter_to_one_carrier(rows):
    moved = rows.sample(frac=0.25, random_state=1).index
    return rows.assign(carrier=rows["carrier"].mask(rows.index.isin(moved), "UA"))


@pytest.mark.parametrize(
    "feature, change",
    [
        ("temp", lambda rows, sd: rows.assign(temp=rows["temp"] + 0.25 * sd)),
        ("distance", lambda rows, sd: rows.assign(distance=rows["distance"] * 1.609344)),
        ("carrier", lambda rows, sd: quarter_to_one_carrier(rows)),
    ],
)
def test_drift_says_yes_for_one_shifted_feature_and_names_it(split, feature, change):
    current = split["folder"] / f"current-{feature}.parquet"
    change(split["current"], split["temp_sd"]).to_parquet(current, index=False)
    out = drift(split["folder"] / "reference.parquet", current)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    # one of 18 equally weighted inputs: drift all the same, its importance share apart
    assert result["drift"] is True and result["drifted"] == [feature]
    assert result["drifted_importance"] < result["min_drifted_share"]
    assert result["importance_drift"] is False


def test_drift_text_names_the_drifted_feature(split):
    current = split["folder"] / "current-warmer.parquet"
    split["current"].assign(temp=split["current"]["temp"] + 0.25 * split["temp_sd"]).to_parquet(
        current, index=False
    )
    out = mlgate(
        "drift",
        "--spec",
        "flights",
        "--reference",
        str(split["folder"] / "reference.parquet"),
        "--current",
        str(current),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("drift: yes, in temp (")


def test_drift_refuses_distances_delivered_as_text_naming_the_column(split):
    current = split["folder"] / "current-text.csv"
    split["current"].assign(
        distance=[f"{d * 1.609344:.0f} km" for d in split["current"]["distance"]]
    ).to_csv(current, index=False)
    out = drift(split["folder"] / "reference.parquet", current)
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    assert "--current" in out.stderr and "'distance'" in out.stderr and "km" in out.stderr


def test_drift_refuses_a_reference_with_other_columns_naming_them(split):
    other = split["folder"] / "other-reference.csv"
    split["current"].rename(columns={"temp": "temperature"}).drop(columns=["dest"]).to_csv(
        other, index=False
    )
    out = drift(other, split["folder"] / "reference.parquet")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "--reference" in out.stderr
    assert "lacks the column(s) temp, dest" in out.stderr and "temperature" in out.stderr


def test_drift_on_local_files_imports_no_heavy_library(split):
    """`mlgate drift` on two files needs pandas and numpy, never the training, tracking,
    validation or orchestration stacks (their imports would cost seconds per run)."""
    heavy = ["mlflow", "great_expectations", "airflow", "xgboost", "sklearn", "scipy", "dask"]
    reference = split["folder"] / "reference.parquet"
    code = (
        "import contextlib, io, sys\n"
        "from mlgate.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['drift', '--spec', 'flights', '--reference', {str(reference)!r}, "
        f"'--current', {str(reference)!r}, '--json'])\n"
        f"print(code, sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "[]"]


def test_help_lists_the_commands():
    out = mlgate("--help")
    assert out.returncode == 0
    for command in (
        "demo",
        "land",
        "run",
        "validate",
        "drift",
        "simulate",
        "rollback",
        "env",
        "up",
    ):
        assert command in out.stdout


def _own_env(tmp_path, **more) -> dict:
    import os

    from tests.helpers import home_env

    return {**os.environ, **home_env(tmp_path / "home"), **more}


def test_evaluate_with_the_tracking_server_down_is_an_error_not_a_missing_version(tmp_path):
    env = _own_env(
        tmp_path, MLFLOW_TRACKING_URI="http://127.0.0.1:9", MLFLOW_HTTP_REQUEST_MAX_RETRIES="0"
    )
    out = mlgate("evaluate", "--spec", "flights", "--candidate", "1", env=env)
    assert out.returncode == 4, out.stderr
    assert "the MLflow tracking store http://127.0.0.1:9 failed" in out.stderr
    assert "is the tracking server up" in out.stderr
    assert "no registered version" not in out.stderr and "Traceback" not in out.stderr


def test_a_locked_sqlite_store_waits_then_says_who_holds_it(tmp_path):
    import sqlite3

    (tmp_path / "home").mkdir()
    db = tmp_path / "home" / "mlflow.db"
    holder = sqlite3.connect(db)
    holder.execute("CREATE TABLE hold (x)")
    holder.execute("BEGIN EXCLUSIVE")  # another process writing for a long time
    try:
        env = _own_env(tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{db}?timeout=1")
        out = mlgate("evaluate", "--spec", "flights", "--candidate", "1", env=env)
    finally:
        holder.rollback()
    assert out.returncode == 4, out.stderr
    assert "database is locked" in out.stderr and "another process holds" in out.stderr
    assert "Traceback" not in out.stderr


def test_rollback_with_nothing_registered_is_a_refusal_not_a_traceback(tmp_path):
    out = mlgate("rollback", "--model", "flights", env=_own_env(tmp_path))
    assert out.returncode == 1, out.stderr
    assert "nothing was ever promoted" in out.stderr and "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]  # after MLflow's note that it made the store
    assert last.startswith("rollback refused: no registered model 'flights_late'")


def test_validate_takes_a_partition_folder_and_names_the_files_of_an_ambiguous_one(tmp_path):
    features, _ = simulator.day_frames("2013-03-05")
    folder = tmp_path / "ds=2013-03-05"
    folder.mkdir()
    (folder / "flights.csv").write_bytes(simulator.to_csv_bytes(features))
    assert validate(folder).returncode == 0
    (folder / "flights_again.csv").write_bytes(simulator.to_csv_bytes(features))
    out = validate(folder)
    assert out.returncode == 2
    assert "is a folder" in out.stderr and "flights.csv, flights_again.csv" in out.stderr


def test_help_documents_every_exit_code():
    out = mlgate("--help")
    for code in ("0  success", "1  refused", "2  usage error", "3  evaluate", "4  error"):
        assert code in out.stdout
